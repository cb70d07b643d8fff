"""What the share-group APIs ask the authorizer, at the points Kafka's `KafkaApis` asks.

Owns the share side of authorization: READ on the group for ShareGroupHeartbeat, ShareFetch
and ShareAcknowledge (the whole request is refused), and READ on each topic a ShareFetch or
ShareAcknowledge touches (refused per partition); a heartbeat's subscribed topics are
`access.subscription_refused`'s, shared with consumer groups. With no authorizer configured everything is allowed. It must never decide a
rule itself (that is `logstore.security.authorizer`) nor touch share state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from logstore.broker import access
from logstore.security.acls import Operation
from logstore.shares.coordinator import PartitionId

if TYPE_CHECKING:
    from logstore.broker.api import RequestContext
    from logstore.broker.context import Broker


def group_refused(broker: Broker, ctx: RequestContext, group_id: str | None) -> bool:
    """The member may not READ this group: Kafka refuses the whole request."""
    return not access.allowed(broker, ctx, Operation.READ, access.GROUP, group_id or "")


def unreadable(broker: Broker, ctx: RequestContext, pids: list[PartitionId]) -> set[PartitionId]:
    """The share-partitions whose topic the member may not READ (unknown topics are left
    to the handler's UNKNOWN_TOPIC_ID)."""
    if broker.authorizer is None:
        return set()
    out = set()
    for pid in pids:
        info = broker.logs.topic_by_id(pid[0])
        if info is not None and not access.allowed(
            broker, ctx, Operation.READ, access.TOPIC, info.name
        ):
            out.add(pid)
    return out
