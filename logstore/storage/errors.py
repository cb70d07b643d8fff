"""Storage-level errors, each with the Kafka error code the broker answers with.

Owns only the exception types (record errors live in `logstore.records.errors`). It must
never format wire responses.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class: `.code` is the Kafka error code, the message is readable by a person."""

    code: int = -1


class OffsetOutOfRangeError(StorageError):
    code = 1


class UnknownTopicOrPartitionError(StorageError):
    code = 3


# Kafka reports an unknown topic with the same code as an unknown partition.
UnknownTopicError = UnknownTopicOrPartitionError


class InvalidTopicError(StorageError):
    code = 17


class TopicExistsError(StorageError):
    code = 36


class InvalidPartitionsError(StorageError):
    code = 37


class InvalidConfigError(StorageError):
    code = 40


class KafkaStorageError(StorageError):
    """The partition's files are unusable (corruption below the recovery point, I/O error)."""

    code = 56
