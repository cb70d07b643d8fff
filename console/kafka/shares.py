"""Share groups (KIP-932) through the Kafka protocol: describe, start offsets, and changes.

Owns every share-group call the console makes besides listing (`console.kafka.groups`):
ShareGroupDescribe (members and assignments), DescribeShareGroupOffsets (each
share-partition's start offset and, from v1, its lag), AlterShareGroupOffsets and
DeleteShareGroupOffsets, each sent to the group's coordinator through kafka-python's
network thread (`console.kafka.wire`, messages in `console.kafka.share_wire`), and the
group's configs (DescribeConfigs / IncrementalAlterConfigs on the GROUP resource) through
the AdminClient. It must never change a share group that has members (Kafka refuses too,
but the console says who is still reading), and holds no arithmetic: lag and ages are
`console.lag.measure`'s, reset plans `console.lag.reset_plan`'s.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka.admin import (
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    ResourceType,
)

from console.kafka import clients, wire
from console.kafka.config import ClusterConfig
from console.kafka.errors import ClusterError, NotAuthorized, NotFound, Refused, answer
from console.kafka.groups import active_reason
from console.kafka.model import TP, ConfigItem, GroupDescription, Member, ShareStart

# Coordinator errors that pass: ask FindCoordinator again and retry.
_MOVING = {14, 15, 16}  # load in progress, not available, not coordinator
_GROUP_AUTHORIZATION_FAILED = 30
_GROUP_ID_NOT_FOUND = 69
_NON_EMPTY_GROUP = 68
SETTLE_S = 0.2

# The group configs a share group has in Kafka 4.x, and what the edit form offers.
SHARE_CONFIGS = (
    "share.auto.offset.reset",
    "share.record.lock.duration.ms",
    "share.delivery.count.limit",
    "share.isolation.level",
)

# Where a group config's value comes from: set on this group, Kafka's default, or the
# broker's own setting of the group default (`group.share.*`).
_SOURCES = {
    ConfigSource.GROUP_CONFIG.value: "override",
    ConfigSource.DEFAULT_CONFIG.value: "default",
}


@dataclass(frozen=True)
class ShareGroupState:
    description: GroupDescription
    starts: dict[TP, ShareStart]
    topic_ids: dict[str, uuid.UUID] = field(default_factory=dict)  # as the cluster named them


def _error_name(code: int) -> str:
    from kafka import errors as kp_errors

    return str(kp_errors.for_code(code).__name__)


def _group_error(group_id: str, code: int, message: str | None, what: str) -> ClusterError:
    if code == _GROUP_AUTHORIZATION_FAILED:
        return NotAuthorized("DESCRIBE", f"group {group_id!r}", what)
    if code == _GROUP_ID_NOT_FOUND:
        return NotFound(f"There is no share group called {group_id!r} on this cluster.")
    text = message or _error_name(code)
    if code == _NON_EMPTY_GROUP:
        return Refused(f"Could not {what}: {text} (the group has active members).")
    return ClusterError(f"Could not {what}: {text}")


async def _coordinators(manager: Any, group_ids: list[str], limit_s: float) -> dict[str, int]:
    """{group: coordinator node}, from kafka-python's cache or one FindCoordinator each."""
    from kafka.protocol.metadata import CoordinatorType, FindCoordinatorRequest

    found: dict[str, int] = {}
    wanted = []
    for g in group_ids:
        node = manager.cluster.get_coordinator(g)
        if node is not None and node != -1:
            found[g] = node
        else:
            request = FindCoordinatorRequest(key=g, key_type=0, max_version=3)
            wanted.append((g, request, manager.least_loaded_node()))
    for g, reply in (await wire.gather(manager, wanted, limit_s)).items():
        if isinstance(reply, BaseException):
            raise ClusterError(f"Could not find the coordinator of {g!r}: {reply}")
        if reply.error_code:
            if reply.error_code in _MOVING:
                continue  # asked again next round
            raise _group_error(g, reply.error_code, None, "find the group's coordinator")
        manager.cluster.add_coordinator(reply, CoordinatorType.GROUP, g, synthesize_node_id=False)
        found[g] = reply.node_id
    return found


def _forget_coordinator(manager: Any, group_id: str) -> None:
    from kafka.protocol.metadata import CoordinatorType

    manager.cluster._coordinators.pop((CoordinatorType.GROUP, group_id), None)


async def _per_group(
    manager: Any, group_ids: list[str], build: Any, limit_s: float, what: str
) -> dict[str, Any]:
    """Send `build(group)` to each group's coordinator; retry groups whose coordinator
    moved until `limit_s` runs out. {group: the answer's entry for it}."""
    out: dict[str, Any] = {}
    deadline = time.monotonic() + limit_s
    pending = list(group_ids)
    while pending:
        nodes = await _coordinators(manager, pending, limit_s)
        requests = [(g, build(g), node) for g, node in nodes.items()]
        answers = await wire.gather(manager, requests, limit_s) if requests else {}
        moved = [g for g in pending if g not in nodes]
        for g, reply in answers.items():
            if isinstance(reply, BaseException):
                raise ClusterError(f"Could not {what}: {reply}")
            code = _top_error(reply, g)
            if code in _MOVING:
                _forget_coordinator(manager, g)
                moved.append(g)
            else:
                out[g] = reply
        pending = moved
        if pending:
            if time.monotonic() + SETTLE_S > deadline:
                raise ClusterError(f"Could not {what}: the group's coordinator is not ready")
            await manager._net.sleep(SETTLE_S)
    return out


def _change(cluster: ClusterConfig, group_id: str, request: Any, what: str) -> Any:
    """Send a change about one group to its coordinator; its answer, or the group-level
    refusal as a `ClusterError`."""

    async def send(manager: Any) -> Any:
        return await _per_group(
            manager, [group_id], lambda _g: request, cluster.timeout_s, f"{what}"
        )

    reply = wire.run(cluster, what, send)[group_id]
    if reply.error_code:
        raise _group_error(group_id, reply.error_code, reply.error_message, what)
    return reply


def _top_error(reply: Any, group_id: str) -> int:
    """The coordinator-level error of an answer about one group (0 when none)."""
    groups = getattr(reply, "groups", None)
    if groups is not None:
        return next((int(g.error_code) for g in groups if g.group_id == group_id), 0)
    return int(getattr(reply, "error_code", 0) or 0)


# --- reading ---------------------------------------------------------------------------


def describe(cluster: ClusterConfig, group_ids: Sequence[str]) -> dict[str, ShareGroupState]:
    """Members, assignments and share-partition start offsets of each share group.

    A group the cluster does not know raises `NotFound`; one the console may not
    describe raises `NotAuthorized`.
    """
    from console.kafka.share_wire import (
        DescribeShareGroupOffsetsRequest,
        ShareGroupDescribeRequest,
    )

    ids = list(dict.fromkeys(group_ids))
    if not ids:
        return {}
    group_cls = DescribeShareGroupOffsetsRequest.DescribeShareGroupOffsetsRequestGroup

    async def read(manager: Any) -> dict[str, ShareGroupState]:
        described = await _per_group(
            manager,
            ids,
            lambda g: ShareGroupDescribeRequest(
                group_ids=[g], include_authorized_operations=False, min_version=1, max_version=1
            ),
            cluster.timeout_s,
            "describe the share groups",
        )
        offsets = await _per_group(
            manager,
            ids,
            lambda g: DescribeShareGroupOffsetsRequest(
                groups=[group_cls(group_id=g, topics=None)], max_version=1
            ),
            cluster.timeout_s,
            "read the share groups' start offsets",
        )
        return {g: _state(g, described[g], offsets[g]) for g in ids}

    return wire.run(cluster, "describe the share groups", read)


def _state(group_id: str, described: Any, offsets: Any) -> ShareGroupState:
    d = next(x for x in described.groups if x.group_id == group_id)
    if d.error_code:
        raise _group_error(group_id, d.error_code, d.error_message, "describe the share group")
    o = next(x for x in offsets.groups if x.group_id == group_id)
    if o.error_code:
        raise _group_error(group_id, o.error_code, o.error_message, "read its start offsets")
    members = tuple(
        Member(
            member_id=m.member_id,
            client_id=m.client_id,
            host=m.client_host.lstrip("/"),
            assignment=tuple(
                sorted(
                    (t.topic_name, p) for t in m.assignment.topic_partitions for p in t.partitions
                )
            ),
        )
        for m in d.members
    )
    starts: dict[TP, ShareStart] = {}
    ids = {t.topic_name: t.topic_id for m in d.members for t in m.assignment.topic_partitions}
    for t in o.topics:
        ids[t.topic_name] = t.topic_id
        for p in t.partitions:
            if p.error_code:
                continue  # a topic the console may not describe: left out, as Kafka does
            lag = getattr(p, "lag", -1)
            starts[(t.topic_name, p.partition_index)] = ShareStart(
                start=p.start_offset if p.start_offset >= 0 else None,
                lag=lag if lag is not None and lag >= 0 else None,
            )
    desc = GroupDescription(
        group_id=group_id,
        state=str(d.group_state or "UNKNOWN").upper(),
        type="SHARE",
        protocol=d.assignor_name or "",
        coordinator="",
        members=members,
    )
    return ShareGroupState(description=desc, starts=starts, topic_ids=ids)


def describe_one(cluster: ClusterConfig, group_id: str) -> ShareGroupState:
    return describe(cluster, [group_id])[group_id]


def configs(cluster: ClusterConfig, group_id: str) -> dict[str, ConfigItem]:
    """The group's configs (DescribeConfigs on the GROUP resource), every key it reports."""
    admin = clients.of(cluster).admin()
    resource = ConfigResource(ResourceType.GROUP, group_id)
    futures = admin.describe_configs([resource], request_timeout=cluster.timeout_s)
    found = answer(
        cluster.timeout_s,
        futures[resource],
        f"read the configs of group {group_id!r}",
        "DESCRIBE_CONFIGS",
        f"group {group_id!r}",
    )
    out = {}
    for name, entry in found.items():
        source = int(getattr(entry.source, "value", entry.source))
        out[name] = ConfigItem(
            name=name,
            value=entry.value,
            source=_SOURCES.get(source, "broker"),
            is_default=bool(entry.is_default),
            read_only=bool(entry.is_read_only),
            sensitive=bool(entry.is_sensitive),
        )
    return out


# --- changing --------------------------------------------------------------------------


def _refuse_if_active(cluster: ClusterConfig, group_id: str) -> None:
    try:
        desc = describe_one(cluster, group_id).description
    except NotFound:
        return  # Kafka creates the group's state on an alter; nobody is reading it
    if desc.members:
        raise Refused(active_reason(desc, "share group", "share consumers"))


def reset_start(cluster: ClusterConfig, group_id: str, offsets: dict[TP, int]) -> None:
    """Move the share-partition start offsets of an idle share group to `offsets`; every
    record before them counts as delivered, everything from them on as available."""
    from console.kafka.share_wire import AlterShareGroupOffsetsRequest as Req

    _refuse_if_active(cluster, group_id)
    topic_cls = Req.AlterShareGroupOffsetsRequestTopic
    part_cls = topic_cls.AlterShareGroupOffsetsRequestPartition
    by_topic: dict[str, list[Any]] = defaultdict(list)
    for (t, p), o in sorted(offsets.items()):
        by_topic[t].append(part_cls(partition_index=p, start_offset=o))
    topics = [topic_cls(topic_name=t, partitions=ps) for t, ps in by_topic.items()]

    request = Req(group_id=group_id, topics=topics, max_version=0)
    reply = _change(cluster, group_id, request, "reset the share group's start offsets")
    errors = [
        f"{t.topic_name}[{p.partition_index}]: {p.error_message or _error_name(p.error_code)}"
        for t in reply.responses
        for p in t.partitions
        if p.error_code
    ]
    if errors:
        raise Refused("some start offsets were refused: " + "; ".join(errors))


def delete_offsets(cluster: ClusterConfig, group_id: str, topics: list[str]) -> None:
    """Forget an idle share group's state for `topics`: the next share consumer starts
    them afresh at `share.auto.offset.reset`."""
    from console.kafka.share_wire import DeleteShareGroupOffsetsRequest as Req

    _refuse_if_active(cluster, group_id)
    wanted = [Req.DeleteShareGroupOffsetsRequestTopic(topic_name=t) for t in topics]

    request = Req(group_id=group_id, topics=wanted, max_version=0)
    reply = _change(cluster, group_id, request, "delete the share group's offsets")
    errors = [
        f"{t.topic_name}: {t.error_message or _error_name(t.error_code)}"
        for t in reply.responses
        if t.error_code
    ]
    if errors:
        raise Refused("not deleted: " + "; ".join(errors))


def alter_configs(cluster: ClusterConfig, group_id: str, changes: dict[str, str | None]) -> None:
    """Set (a value) or remove (None: back to the broker's default) group configs."""
    entries = [
        ConfigEntry(
            name,
            value if value is not None else "",
            incremental_operation=AlterConfigOpType.SET
            if value is not None
            else AlterConfigOpType.DELETE,
        )
        for name, value in sorted(changes.items())
    ]
    if not entries:
        return
    resource = ConfigResource(ResourceType.GROUP, group_id, incremental_configs=entries)
    admin = clients.of(cluster).admin()
    futures = admin.incremental_alter_configs([resource], request_timeout=cluster.timeout_s)
    answer(
        cluster.timeout_s,
        futures[resource],
        f"change the configs of group {group_id!r}",
        "ALTER_CONFIGS",
        f"group {group_id!r}",
    )
