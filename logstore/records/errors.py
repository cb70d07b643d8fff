"""Record-level errors, each carrying the Kafka error code the broker answers with.

Owns only the exception types. It must never decide how an error is reported on the wire:
the broker reads `.code` and builds the response.
"""

from __future__ import annotations

from logstore import error_codes as codes


class RecordError(Exception):
    """Base class: something is wrong with the record bytes a client sent or we stored."""

    code: int = codes.UNKNOWN_SERVER_ERROR


class CorruptRecordError(RecordError):
    """Bad length, magic other than 2, CRC-32C mismatch, or a torn batch (CORRUPT_MESSAGE)."""

    code = codes.CORRUPT_MESSAGE


class InvalidRecordError(RecordError):
    """A well-formed batch the topic refuses, e.g. a record without a key on a compacted topic."""

    code = codes.INVALID_RECORD


class RecordTooLargeError(RecordError):
    """A batch larger than the topic's `max.message.bytes` (MESSAGE_TOO_LARGE)."""

    code = codes.MESSAGE_TOO_LARGE


class InvalidTimestampError(RecordError):
    """A timestamp outside `message.timestamp.before.max.ms` / `after.max.ms`."""

    code = codes.INVALID_TIMESTAMP


class UnknownCodecError(RecordError):
    """A batch naming a compression codec Kafka does not know (5–7): Kafka fails on it
    as an unexpected error (UNKNOWN_SERVER_ERROR)."""

    code = codes.UNKNOWN_SERVER_ERROR


class UndecodableStreamError(RecordError):
    """A batch marked compressed whose records cannot be that codec's stream: Kafka fails
    decompressing it (UNKNOWN_SERVER_ERROR)."""

    code = codes.UNKNOWN_SERVER_ERROR
