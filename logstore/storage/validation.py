"""Checks a produce request's batches must pass before anything is written.

Framing (at least one whole batch, magic 2), CRC-32C of every batch, `max.message.bytes`,
a known codec and a record count matching the offset range, records that start as their
codec's stream must (`logstore.records.stream_start`), keys on compacted topics,
`message.timestamp.before/after.max.ms`. Errors are the ones Apache Kafka 4 answers
(checked by the differential suite): no whole batch or a magic other than 2 is
INVALID_RECORD (87), a CRC mismatch CORRUPT_MESSAGE (2), a count that does not match the
offset range INVALID_RECORD, an unknown codec or a stream that is not its codec's
UNKNOWN_SERVER_ERROR. Refusals caused
by particular records (no key on a compacted topic, a timestamp out of range) name them
as Kafka does (KIP-467): `RejectedRecords` carries each record's index in its batch and
message, and the summary message, for the Produce response.

Owns only these refusals. It must never write, assign offsets or read the records of a
topic whose config does not require it (compacted, or a lower timestamp bound): on every
other topic a batch is judged by its header alone, and records are read only to name
those of a batch already refused.
"""

from __future__ import annotations

from crc32c import crc32c

from logstore.records import (
    HEADER_SIZE,
    BatchHeader,
    InvalidRecordError,
    InvalidTimestampError,
    RecordError,
    RecordTooLargeError,
    UndecodableStreamError,
    UnknownCodecError,
    decode_records,
    parse_header,
    validate_batch,
)
from logstore.records.header import CRC_START
from logstore.records.record import record_stamps
from logstore.records.stream_start import stream_problem
from logstore.storage.configs import LONG_MAX, TopicConfig

MAGIC_OFFSET = 16
MAX_CODEC = 4  # zstd
NO_TIMESTAMP = -1
# Kafka's summary lists at most this many record errors (the list itself has them all).
SUMMARY_ERRORS = 3


class RejectedRecords(InvalidRecordError):
    """INVALID_RECORD (87) because of the records `record_errors` names (index in the
    batch, message)."""

    def __init__(self, message: str, record_errors: tuple[tuple[int, str], ...]) -> None:
        super().__init__(message)
        self.record_errors = record_errors


class RejectedTimestamps(InvalidTimestampError):
    """INVALID_TIMESTAMP (32): some records' timestamps (and maybe other faults of other
    records, as in Kafka) named in `record_errors`."""

    def __init__(self, message: str, record_errors: tuple[tuple[int, str], ...]) -> None:
        super().__init__(message)
        self.record_errors = record_errors


def _refusal(errors: list[tuple[int, str, bool]]) -> RecordError:
    """Kafka's refusal of a batch from its record errors: (index, message, is a
    timestamp error), in order."""
    named = tuple((index, message) for index, message, _ in errors)
    if any(stamp for _, _, stamp in errors):
        summary = "One or more records have been rejected due to invalid timestamp"
        return RejectedTimestamps(summary, named)
    listed = ", ".join(
        f"RecordError(batchIndex={index}, message='{message}')"
        for index, message in named[:SUMMARY_ERRORS]
    )
    return RejectedRecords(
        f"One or more records have been rejected due to {len(errors)} record errors in "
        f"total, and only showing the first three errors at most: [{listed}]",
        named,
    )


def _java_long(value: int) -> int:
    """`value` wrapped to a signed 64-bit integer, as Kafka's arithmetic leaves it."""
    return (value + (1 << 63)) % (1 << 64) - (1 << 63)


def check_batches(
    view: memoryview, config: TopicConfig, now_ms: int, where: str = ""
) -> list[tuple[int, BatchHeader]]:
    """(position, header) of every batch in `view`, or the error Kafka would answer.
    `where` names the partition ("topic-0") in record errors."""
    if not len(view):
        raise InvalidRecordError("produce requests must have at least one record batch")
    headers: list[tuple[int, BatchHeader]] = []
    pos = 0
    while pos < len(view):
        _check_framing(view, pos)
        claimed = parse_header(view, pos)
        if (claimed.last_offset_delta < 0 or claimed.records_count < 0) and _crc_ok(
            view, pos, claimed
        ):
            # Whole and intact, yet counting no records: Kafka's INVALID_RECORD, where
            # storage would call such a batch corrupt.
            _check_counts(claimed, where)
        header = validate_batch(view, pos)
        if header.size > config.max_message_bytes:
            raise RecordTooLargeError(
                f"batch of {header.size} bytes exceeds max.message.bytes {config.max_message_bytes}"
            )
        _check_counts(header, where)
        if header.compression:
            problem = stream_problem(view, pos + HEADER_SIZE, header.compression)
            if problem:
                raise UndecodableStreamError(f"Batch in topic partition {where} is {problem}.")
        headers.append((pos, header))
        pos += header.size
    for pos, header in headers:
        if header.is_control:
            continue
        errors = _record_errors(view[pos : pos + header.size], header, config, now_ms, where)
        if errors:
            raise _refusal(errors)
    return headers


def _check_counts(header: BatchHeader, where: str) -> None:
    """Kafka's checks of a CRC-valid header before it reads records: a codec it knows,
    and a record count that is positive and matches the batch's offset range (a batch
    claiming more offsets than records would leave holes a consumer reads past)."""
    if header.compression > MAX_CODEC:
        raise UnknownCodecError(f"Unknown compression type id: {header.compression}")
    if header.last_offset_delta < 0:
        raise InvalidRecordError(
            f"Batch has an invalid offset range [0, {header.last_offset_delta}] in topic "
            f"partition {where}."
        )
    count = header.records_count
    if count <= 0:
        raise InvalidRecordError(
            f"Invalid reported count for record batch: {count} in topic partition {where}."
        )
    if header.last_offset_delta + 1 != count:
        raise InvalidRecordError(
            f"Inconsistent batch offset range [0, {header.last_offset_delta}] and count of "
            f"records {count} in topic partition {where}."
        )


def _crc_ok(view: memoryview, pos: int, header: BatchHeader) -> bool:
    return crc32c(view[pos + CRC_START : pos + header.size]) == header.crc


def _check_framing(view: memoryview, pos: int) -> None:
    """A whole v2 batch starts at `pos` (Kafka answers INVALID_RECORD otherwise)."""
    remaining = len(view) - pos
    if remaining > MAGIC_OFFSET and view[pos + MAGIC_OFFSET] != 2:
        raise InvalidRecordError(
            f"only record batches with magic version 2 are accepted, got {view[pos + MAGIC_OFFSET]}"
        )
    if remaining < HEADER_SIZE or parse_header(view, pos).size > remaining:
        raise InvalidRecordError(f"incomplete record batch at position {pos}")


def _record_errors(
    batch: memoryview, header: BatchHeader, config: TopicConfig, now_ms: int, where: str
) -> list[tuple[int, str, bool]]:
    """Kafka's per-record checks of one batch, reading records only when the topic's
    config and the batch header leave a doubt: (index, message, is a timestamp error)."""
    before, after = config.timestamp_before_max_ms, config.timestamp_after_max_ms
    create_time = not config.log_append_time
    stamps = create_time and (before != LONG_MAX or header.max_timestamp - now_ms > after)
    # A producer may not stamp LogAppendTime itself: Kafka refuses such records wherever
    # it does not judge their own stamp (LogAppendTime topics, or no timestamp).
    producer_lat = header.timestamp_type == 1 and (
        not create_time or header.max_timestamp == NO_TIMESTAMP
    )
    if not (config.compact or stamps or producer_lat):
        return []
    if config.compact and not (stamps or producer_lat):
        # The common compacted-topic case: keys only, one pass, no per-record tuples.
        keyless = [i for i, r in enumerate(decode_records(batch)) if r.key is None]
        message = f"Compacted topic cannot accept message without key in topic partition {where}"
        return [(index, message, False) for index in keyless]
    if config.compact or producer_lat:
        records = [(r.offset, r.timestamp, r.key, r.value) for r in decode_records(batch)]
    else:
        records = [(offset, ts, b"", b"") for offset, ts in record_stamps(batch)]
    low, high = _java_long(now_ms - before), _java_long(now_ms + after)
    errors: list[tuple[int, str, bool]] = []
    for index, (offset, ts, key, value) in enumerate(records):
        if config.compact and key is None:
            message = (
                f"Compacted topic cannot accept message without key in topic partition {where}"
            )
            errors.append((index, message, False))
        elif create_time and ts != NO_TIMESTAMP:
            if stamps and (now_ms - ts > before or ts - now_ms > after):
                message = (
                    f"Timestamp {ts} of message with offset {offset} is out of range. "
                    f"The timestamp should be within [{low}, {high}]"
                )
                errors.append((index, message, True))
        elif header.timestamp_type == 1:
            record = (
                f"DefaultRecord(offset={offset}, timestamp={ts}, "
                f"key={len(key or b'')} bytes, value={len(value or b'')} bytes)"
            )
            message = (
                f"Invalid timestamp type in message {record}. Producer should not set "
                "timestamp type to LogAppendTime."
            )
            errors.append((index, message, True))
    return errors
