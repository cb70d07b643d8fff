"""Storage-level errors, each with the Kafka error code the broker answers with.

Owns only the exception types (record errors live in `logstore.records.errors`). It must
never format wire responses.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class: `.code` is the Kafka error code, the message is readable by a person."""

    code: int = -1


class OffsetOutOfRangeError(StorageError):
    """An offset below the log start or beyond the log end (OFFSET_OUT_OF_RANGE)."""

    code = 1


class UnknownTopicOrPartitionError(StorageError):
    """No such topic or partition (UNKNOWN_TOPIC_OR_PARTITION)."""

    code = 3


# Kafka reports an unknown topic with the same code as an unknown partition.
UnknownTopicError = UnknownTopicOrPartitionError


class InvalidTopicError(StorageError):
    """A topic name that breaks Kafka's rules (INVALID_TOPIC_EXCEPTION)."""

    code = 17


class TopicExistsError(StorageError):
    """Creating a topic that already exists (TOPIC_ALREADY_EXISTS)."""

    code = 36


class InvalidPartitionsError(StorageError):
    """A partition count that is not positive or does not grow (INVALID_PARTITIONS)."""

    code = 37


class PolicyViolationError(StorageError):
    """A request the broker's limits refuse, e.g. more partitions than it may hold
    (POLICY_VIOLATION, as Kafka answers requests over its own limits)."""

    code = 44


class InvalidConfigError(StorageError):
    """An unknown topic config name or a bad value (INVALID_CONFIG)."""

    code = 40


class KafkaStorageError(StorageError):
    """The partition's files are unusable (corruption below the recovery point, I/O error)."""

    code = 56
