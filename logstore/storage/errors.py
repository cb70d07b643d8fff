"""Storage-level errors, each with the Kafka error code the broker answers with.

Owns only the exception types (record errors live in `logstore.records.errors`). It must
never format wire responses.
"""

from __future__ import annotations

from logstore import error_codes as codes


class StorageError(Exception):
    """Base class: `.code` is the Kafka error code, the message is readable by a person."""

    code: int = codes.UNKNOWN_SERVER_ERROR


class OffsetOutOfRangeError(StorageError):
    """An offset below the log start or beyond the log end (OFFSET_OUT_OF_RANGE)."""

    code = codes.OFFSET_OUT_OF_RANGE


class UnknownTopicOrPartitionError(StorageError):
    """No such topic or partition (UNKNOWN_TOPIC_OR_PARTITION)."""

    code = codes.UNKNOWN_TOPIC_OR_PARTITION


# Kafka reports an unknown topic with the same code as an unknown partition.
UnknownTopicError = UnknownTopicOrPartitionError


class InvalidTopicError(StorageError):
    """A topic name that breaks Kafka's rules (INVALID_TOPIC_EXCEPTION)."""

    code = codes.INVALID_TOPIC_EXCEPTION


class TopicExistsError(StorageError):
    """Creating a topic that already exists (TOPIC_ALREADY_EXISTS)."""

    code = codes.TOPIC_ALREADY_EXISTS


class InvalidPartitionsError(StorageError):
    """A partition count that is not positive or does not grow (INVALID_PARTITIONS)."""

    code = codes.INVALID_PARTITIONS


class PolicyViolationError(StorageError):
    """A request the broker's limits refuse, e.g. more partitions than it may hold
    (POLICY_VIOLATION, as Kafka answers requests over its own limits)."""

    code = codes.POLICY_VIOLATION


class InvalidConfigError(StorageError):
    """An unknown topic config name or a bad value (INVALID_CONFIG)."""

    code = codes.INVALID_CONFIG


class KafkaStorageError(StorageError):
    """The partition's files are unusable (corruption below the recovery point, I/O error)."""

    code = codes.KAFKA_STORAGE_ERROR
