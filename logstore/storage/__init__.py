"""On-disk partition logs: segments, indexes, recovery, retention, compaction, the catalogue.

Owns every file under the data directory. It must never know about requests, sockets or
Kafka API versions, and imports nothing from logstore except `records`, `clock` and `config`.
"""

from logstore.storage.catalogue import TopicInfo, validate_topic_name
from logstore.storage.configs import CONFIG_DEFS, ConfigEntry, TopicConfig
from logstore.storage.errors import (
    InvalidConfigError,
    InvalidPartitionsError,
    InvalidTopicError,
    KafkaStorageError,
    OffsetOutOfRangeError,
    StorageError,
    TopicExistsError,
    UnknownTopicError,
    UnknownTopicOrPartitionError,
)
from logstore.storage.files import write_atomic
from logstore.storage.manager import LogManager
from logstore.storage.partition import AppendResult, PartitionLog
from logstore.storage.readslice import ReadSlice
from logstore.storage.recovery import RecoveryResult

__all__ = [
    "CONFIG_DEFS",
    "AppendResult",
    "ConfigEntry",
    "InvalidConfigError",
    "InvalidPartitionsError",
    "InvalidTopicError",
    "KafkaStorageError",
    "LogManager",
    "OffsetOutOfRangeError",
    "PartitionLog",
    "ReadSlice",
    "RecoveryResult",
    "StorageError",
    "TopicConfig",
    "TopicExistsError",
    "TopicInfo",
    "UnknownTopicError",
    "UnknownTopicOrPartitionError",
    "validate_topic_name",
    "write_atomic",
]
