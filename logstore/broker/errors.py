"""Kafka error codes the broker answers with, and how exceptions map onto them.

Owns the mapping; the numbers come from `logstore.error_codes`, re-exported here so handlers
import one module. Storage and records errors already carry `.code`; anything else is an
UNKNOWN_SERVER_ERROR (-1). It must never raise or log.
"""

from __future__ import annotations

from logstore.error_codes import (
    CORRUPT_MESSAGE as CORRUPT_MESSAGE,
)
from logstore.error_codes import (
    FETCH_SESSION_ID_NOT_FOUND as FETCH_SESSION_ID_NOT_FOUND,
)
from logstore.error_codes import (
    INVALID_CONFIG as INVALID_CONFIG,
)
from logstore.error_codes import (
    INVALID_FETCH_SIZE as INVALID_FETCH_SIZE,
)
from logstore.error_codes import (
    INVALID_PARTITIONS as INVALID_PARTITIONS,
)
from logstore.error_codes import (
    INVALID_RECORD as INVALID_RECORD,
)
from logstore.error_codes import (
    INVALID_REPLICATION_FACTOR as INVALID_REPLICATION_FACTOR,
)
from logstore.error_codes import (
    INVALID_REQUEST as INVALID_REQUEST,
)
from logstore.error_codes import (
    INVALID_REQUIRED_ACKS as INVALID_REQUIRED_ACKS,
)
from logstore.error_codes import (
    INVALID_TOPIC_EXCEPTION as INVALID_TOPIC_EXCEPTION,
)
from logstore.error_codes import (
    KAFKA_STORAGE_ERROR as KAFKA_STORAGE_ERROR,
)
from logstore.error_codes import (
    LEADER_NOT_AVAILABLE as LEADER_NOT_AVAILABLE,
)
from logstore.error_codes import (
    MESSAGE_TOO_LARGE as MESSAGE_TOO_LARGE,
)
from logstore.error_codes import (
    NONE as NONE,
)
from logstore.error_codes import (
    OFFSET_OUT_OF_RANGE as OFFSET_OUT_OF_RANGE,
)
from logstore.error_codes import (
    POLICY_VIOLATION as POLICY_VIOLATION,
)
from logstore.error_codes import (
    TOPIC_ALREADY_EXISTS as TOPIC_ALREADY_EXISTS,
)
from logstore.error_codes import (
    UNKNOWN_SERVER_ERROR as UNKNOWN_SERVER_ERROR,
)
from logstore.error_codes import (
    UNKNOWN_TOPIC_ID as UNKNOWN_TOPIC_ID,
)
from logstore.error_codes import (
    UNKNOWN_TOPIC_OR_PARTITION as UNKNOWN_TOPIC_OR_PARTITION,
)
from logstore.error_codes import (
    UNSUPPORTED_COMPRESSION_TYPE as UNSUPPORTED_COMPRESSION_TYPE,
)
from logstore.error_codes import (
    UNSUPPORTED_VERSION as UNSUPPORTED_VERSION,
)


def code_of(exc: BaseException) -> int:
    """The Kafka error code an exception stands for."""
    code = getattr(exc, "code", None)
    return code if isinstance(code, int) else UNKNOWN_SERVER_ERROR


def message_of(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
