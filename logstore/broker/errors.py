"""Kafka error codes the broker answers with, and how exceptions map onto them.

Owns the numbers. Storage and records errors already carry `.code`; anything else is an
UNKNOWN_SERVER_ERROR (-1). It must never raise or log.
"""

from __future__ import annotations

NONE = 0
OFFSET_OUT_OF_RANGE = 1
CORRUPT_MESSAGE = 2
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_FETCH_SIZE = 4
LEADER_NOT_AVAILABLE = 5
MESSAGE_TOO_LARGE = 10
INVALID_TOPIC_EXCEPTION = 17
INVALID_REQUIRED_ACKS = 21
UNSUPPORTED_VERSION = 35
TOPIC_ALREADY_EXISTS = 36
INVALID_PARTITIONS = 37
INVALID_REPLICATION_FACTOR = 38
INVALID_REQUEST = 42
INVALID_CONFIG = 40
POLICY_VIOLATION = 44
KAFKA_STORAGE_ERROR = 56
FETCH_SESSION_ID_NOT_FOUND = 70
INVALID_RECORD = 87
UNKNOWN_TOPIC_ID = 100
UNKNOWN_SERVER_ERROR = -1


def code_of(exc: BaseException) -> int:
    """The Kafka error code an exception stands for."""
    code = getattr(exc, "code", None)
    return code if isinstance(code, int) else UNKNOWN_SERVER_ERROR


def message_of(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
