"""Kafka error codes the group coordinator and producer-state code answer with.

Re-exports the codes of `logstore.error_codes` the coordinator and producer state use, so
the sans-I/O modules need not import the protocol layer. It must never hold behaviour:
handlers turn these into kio `ErrorCode`s.
"""

from __future__ import annotations

from logstore.error_codes import (
    COORDINATOR_NOT_AVAILABLE as COORDINATOR_NOT_AVAILABLE,
)
from logstore.error_codes import (
    DUPLICATE_SEQUENCE_NUMBER as DUPLICATE_SEQUENCE_NUMBER,
)
from logstore.error_codes import (
    FENCED_INSTANCE_ID as FENCED_INSTANCE_ID,
)
from logstore.error_codes import (
    FENCED_MEMBER_EPOCH as FENCED_MEMBER_EPOCH,
)
from logstore.error_codes import (
    GROUP_ID_NOT_FOUND as GROUP_ID_NOT_FOUND,
)
from logstore.error_codes import (
    GROUP_MAX_SIZE_REACHED as GROUP_MAX_SIZE_REACHED,
)
from logstore.error_codes import (
    GROUP_SUBSCRIBED_TO_TOPIC as GROUP_SUBSCRIBED_TO_TOPIC,
)
from logstore.error_codes import (
    ILLEGAL_GENERATION as ILLEGAL_GENERATION,
)
from logstore.error_codes import (
    INCONSISTENT_GROUP_PROTOCOL as INCONSISTENT_GROUP_PROTOCOL,
)
from logstore.error_codes import (
    INVALID_COMMIT_OFFSET_SIZE as INVALID_COMMIT_OFFSET_SIZE,
)
from logstore.error_codes import (
    INVALID_GROUP_ID as INVALID_GROUP_ID,
)
from logstore.error_codes import (
    INVALID_PRODUCER_EPOCH as INVALID_PRODUCER_EPOCH,
)
from logstore.error_codes import (
    INVALID_REGULAR_EXPRESSION as INVALID_REGULAR_EXPRESSION,
)
from logstore.error_codes import (
    INVALID_REQUEST as INVALID_REQUEST,
)
from logstore.error_codes import (
    INVALID_SESSION_TIMEOUT as INVALID_SESSION_TIMEOUT,
)
from logstore.error_codes import (
    MEMBER_ID_REQUIRED as MEMBER_ID_REQUIRED,
)
from logstore.error_codes import (
    NON_EMPTY_GROUP as NON_EMPTY_GROUP,
)
from logstore.error_codes import (
    NONE as NONE,
)
from logstore.error_codes import (
    NOT_COORDINATOR as NOT_COORDINATOR,
)
from logstore.error_codes import (
    OUT_OF_ORDER_SEQUENCE_NUMBER as OUT_OF_ORDER_SEQUENCE_NUMBER,
)
from logstore.error_codes import (
    PRODUCER_FENCED as PRODUCER_FENCED,
)
from logstore.error_codes import (
    REBALANCE_IN_PROGRESS as REBALANCE_IN_PROGRESS,
)
from logstore.error_codes import (
    STALE_MEMBER_EPOCH as STALE_MEMBER_EPOCH,
)
from logstore.error_codes import (
    UNKNOWN_MEMBER_ID as UNKNOWN_MEMBER_ID,
)
from logstore.error_codes import (
    UNKNOWN_SERVER_ERROR as UNKNOWN_SERVER_ERROR,
)
from logstore.error_codes import (
    UNKNOWN_TOPIC_OR_PARTITION as UNKNOWN_TOPIC_OR_PARTITION,
)
from logstore.error_codes import (
    UNRELEASED_INSTANCE_ID as UNRELEASED_INSTANCE_ID,
)
from logstore.error_codes import (
    UNSTABLE_OFFSET_COMMIT as UNSTABLE_OFFSET_COMMIT,
)
from logstore.error_codes import (
    UNSUPPORTED_ASSIGNOR as UNSUPPORTED_ASSIGNOR,
)
from logstore.error_codes import (
    UNSUPPORTED_VERSION as UNSUPPORTED_VERSION,
)


class GroupError(Exception):
    """An error with a Kafka code, raised where a reply cannot be returned directly."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message or str(code))
        self.code = code
