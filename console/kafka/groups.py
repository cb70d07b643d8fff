"""Consumer groups through the Kafka protocol: listing, describing, committed offsets,
and the changes (offset writes, deletions).

Owns every group call the pages, the lag sampler and the offset reset make, through the
cluster's AdminClient (kafka-python's client only for what librdkafka lacks: listing
share groups, OffsetDelete). It must never change a group that has active members, and
holds no arithmetic: lag is `console.lag.arithmetic`, reset plans `console.lag.reset_plan`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition

from console.kafka import clients, resets
from console.kafka.config import ClusterConfig
from console.kafka.errors import (
    ClusterError,
    NotAuthorized,
    NotFound,
    Refused,
    Timeout,
    authorization_failure,
    coordinator_moved,
    kafka_reason,
)
from console.kafka.model import IDLE_STATES, TP, GroupDescription, GroupListing, Member

# Between asks of a group whose coordinator moved, while the cluster's metadata catches up.
_COORDINATOR_RETRY_S = 0.2

__all__ = [
    "IDLE_STATES",
    "TP",
    "GroupDescription",
    "GroupListing",
    "Member",
    "alter_offsets",
    "committed_offsets",
    "delete_group",
    "delete_group_offsets",
    "describe_group",
    "describe_groups",
    "list_groups",
    "list_share_groups",
]


def _wait(
    cluster: ClusterConfig, future: Future[Any], what: str, group_id: str | None = None
) -> Any:
    try:
        return future.result(timeout=cluster.timeout_s + 1)
    except KafkaException as exc:
        if group_id is not None and authorization_failure(exc) == "GROUP":
            raise NotAuthorized("DESCRIBE", f"group {group_id!r}") from exc
        raise ClusterError(f"{what}: {kafka_reason(exc)}") from exc
    except TimeoutError as exc:
        raise Timeout(f"{what}: the cluster did not answer within {cluster.timeout_s:g} s") from exc


def _enum_name(value: Any) -> str:
    return str(getattr(value, "name", value)).upper()


# --- listing and describing ----------------------------------------------------------


def list_groups(cluster: ClusterConfig) -> list[GroupListing]:
    """Every consumer group the cluster knows, sorted by id."""
    admin = clients.of(cluster).admin()
    future = admin.list_consumer_groups(request_timeout=cluster.timeout_s)
    result = _wait(cluster, future, "listing groups")
    if result.errors and not result.valid:
        # librdkafka answers "no groups, and these errors" rather than failing outright.
        raise ClusterError(f"listing groups: {kafka_reason(KafkaException(result.errors[0]))}")
    listings = [
        GroupListing(
            group_id=g.group_id,
            state=_enum_name(g.state),
            type=_enum_name(g.type),
            is_simple=bool(g.is_simple_consumer_group),
        )
        for g in result.valid
    ]
    return sorted(listings, key=lambda g: g.group_id)


def list_share_groups(cluster: ClusterConfig) -> list[GroupListing]:
    """Share groups (KIP-932), which librdkafka's listing leaves out.

    Asked through kafka-python's ListGroups with a type filter. A broker without share
    groups (or too old for the filter) simply has none, so any refusal gives [].
    """
    admin = clients.of(cluster).wire()
    try:
        found = admin.list_groups(types_filter=["share"])
    except Exception:  # unsupported version or filter: this cluster has no share groups
        return []
    return sorted(
        (
            GroupListing(
                group_id=g["group_id"],
                state=str(g.get("group_state") or "UNKNOWN").upper(),
                type="SHARE",
                is_simple=False,
            )
            for g in found
            if str(g.get("group_type") or g.get("protocol_type")).lower() == "share"
        ),
        key=lambda g: g.group_id,
    )


def describe_groups(
    cluster: ClusterConfig, group_ids: Sequence[str]
) -> dict[str, GroupDescription]:
    """Each group's description. A group whose coordinator moved is asked again, through
    a new AdminClient (librdkafka answers NOT_COORDINATOR from the coordinator it
    remembers, and keeps remembering it), until the cluster's timeout; any other failure is
    raised at once."""
    admin = clients.of(cluster).admin()
    deadline = time.monotonic() + cluster.timeout_s
    out: dict[str, GroupDescription] = {}
    pending = list(group_ids)
    while pending:
        futures = admin.describe_consumer_groups(pending, request_timeout=cluster.timeout_s)
        pending = []
        for group_id, future in futures.items():
            try:
                d = _wait(cluster, future, f"describing group {group_id!r}", group_id)
            except ClusterError as exc:
                if not coordinator_moved(exc.__cause__) or time.monotonic() > deadline:
                    raise
                pending.append(group_id)
                continue
            out[group_id] = _description(group_id, d)
        if pending:
            time.sleep(_COORDINATOR_RETRY_S)
            admin = clients.of(cluster).renew_admin(admin)
    return out


def _description(group_id: str, d: Any) -> GroupDescription:
    members = tuple(
        Member(
            member_id=m.member_id,
            client_id=m.client_id,
            host=m.host.lstrip("/"),
            assignment=tuple(
                sorted((tp.topic, tp.partition) for tp in m.assignment.topic_partitions)
            ),
        )
        for m in d.members
    )
    coordinator = d.coordinator
    return GroupDescription(
        group_id=group_id,
        state=_enum_name(d.state),
        type=_enum_name(getattr(d, "type", "UNKNOWN")),
        protocol=d.partition_assignor or "",
        coordinator=f"{coordinator.host}:{coordinator.port}" if coordinator else "",
        members=members,
    )


def describe_group(cluster: ClusterConfig, group_id: str) -> GroupDescription:
    return describe_groups(cluster, [group_id])[group_id]


def committed_offsets(cluster: ClusterConfig, group_ids: Sequence[str]) -> dict[str, dict[TP, int]]:
    """Committed offsets of each group (all its partitions), asked for together.

    Through kafka-python's OffsetFetch (`resets.committed`), never librdkafka's: its
    ListConsumerGroupOffsets crashes the process (a null group handle) when the coordinator
    it remembers answers NOT_COORDINATOR, as after a leader election or a node's restart.
    """
    if not group_ids:
        return {}
    return resets.committed(cluster, list(group_ids))


# --- changing --------------------------------------------------------------------------


def active_reason(desc: GroupDescription, kind: str = "group", readers: str = "consumers") -> str:
    """Why a change waits: who is still reading, in words."""
    clients_seen = sorted({f"{m.client_id}@{m.host}" for m in desc.members})
    n = len(desc.members)
    word = "member" if n == 1 else "members"
    return (
        f"{kind} {desc.group_id!r} has {n} active {word} ({', '.join(clients_seen)}); "
        f"stop its {readers} first, then try again"
    )


def delete_group(cluster: ClusterConfig, group_id: str) -> None:
    """Delete an empty group (its committed offsets go with it)."""
    desc = describe_group(cluster, group_id)
    if desc.members:
        raise Refused(active_reason(desc))
    admin = clients.of(cluster).admin()
    futures = admin.delete_consumer_groups([group_id], request_timeout=cluster.timeout_s)
    _wait(cluster, futures[group_id], f"deleting group {group_id!r}")


def delete_group_offsets(cluster: ClusterConfig, group_id: str, topic: str) -> list[int]:
    """Forget the group's committed offsets for one topic (OffsetDelete); returns partitions.

    librdkafka's Python binding lacks OffsetDelete, so this one call goes through
    kafka-python's admin client.
    """
    desc = describe_group(cluster, group_id)
    if any(tp[0] == topic for m in desc.members for tp in m.assignment):
        raise Refused(f"group {group_id!r} has active members reading {topic!r}; stop them first")
    committed = committed_offsets(cluster, [group_id])[group_id]
    parts = sorted(p for (t, p) in committed if t == topic)
    if not parts:
        raise NotFound(f"group {group_id!r} has no committed offsets for {topic!r}")
    from kafka.structs import TopicPartition as KTP

    admin = clients.of(cluster).wire()
    try:
        result = admin.delete_group_offsets(group_id, [KTP(topic, p) for p in parts])
    except Exception as exc:  # kafka-python raises its own hierarchy; surface its text
        raise ClusterError(f"deleting offsets of {group_id!r} for {topic!r}: {exc}") from exc
    items = list(result.items()) if isinstance(result, dict) else []
    failed = {tp: err for tp, err in items if err is not None and _is_error(err)}
    if failed:
        raise ClusterError(f"deleting offsets of {group_id!r}: {failed}")
    return parts


def _is_error(err: Any) -> bool:
    if isinstance(err, type) and issubclass(err, Exception):
        return getattr(err, "errno", 0) != 0
    return bool(getattr(err, "errno", 0)) or isinstance(err, Exception)


def alter_offsets(cluster: ClusterConfig, group_id: str, offsets: dict[TP, int]) -> dict[TP, int]:
    """Commit `offsets` for an idle group; refuses while the group has active members."""
    desc = describe_group(cluster, group_id)
    if desc.members:
        raise Refused(active_reason(desc))
    if desc.state not in IDLE_STATES:
        raise Refused(f"group {group_id!r} is {desc.state.lower()}; wait until it is empty")
    request = ConsumerGroupTopicPartitions(
        group_id, [TopicPartition(t, p, o) for (t, p), o in sorted(offsets.items())]
    )
    admin = clients.of(cluster).admin()
    futures = admin.alter_consumer_group_offsets([request], request_timeout=cluster.timeout_s)
    result = _wait(cluster, futures[group_id], f"writing offsets of {group_id!r}")
    errors = [
        f"{tp.topic}[{tp.partition}]: {tp.error.str()}"
        for tp in result.topic_partitions or []
        if tp.error is not None
    ]
    if errors:
        raise Refused("some offsets were refused: " + "; ".join(errors))
    return dict(offsets)
