"""Group APIs: FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup, ListGroups,
DescribeGroups, DeleteGroups, ConsumerGroupHeartbeat and ConsumerGroupDescribe.

Owns the translation between kio's versioned messages and `logstore.groups.coordinator`
calls (version quirks: JoinGroup v4+ asks for a member id first, LeaveGroup v3+ batches
members, FindCoordinator v4 batches keys). It must never decide group state itself.
"""

from __future__ import annotations

from typing import Any

from logstore.broker import access
from logstore.broker.api import RequestContext, handles
from logstore.broker.build import make, millis
from logstore.broker.context import Broker
from logstore.error_codes import TOPIC_AUTHORIZATION_FAILED
from logstore.groups import errors as err
from logstore.groups.consumer import HeartbeatRequest, to_assignment
from logstore.groups.coordinator import GroupCoordinator, GroupSummary
from logstore.groups.offsets import OFFSETS_TOPIC
from logstore.groups.state import JoinRequest
from logstore.protocol.api_keys import ApiKey
from logstore.security.acls import Operation

GROUP_KEY, TRANSACTION_KEY = 0, 1
CONSUMER_GROUP_HEARTBEAT = 68
CONSUMER_GROUP_DESCRIBE = 69
# Java's default rebalance timeout when JoinGroup v0 carries none.
V0_REBALANCE_TIMEOUT_MS = 60_000


def _host(ctx: RequestContext) -> str:
    # Kafka reports client hosts as InetAddress.toString(): "/127.0.0.1".
    return ctx.client_host if ctx.client_host.startswith("/") else "/" + ctx.client_host


def coordinator_of(broker: Broker) -> GroupCoordinator | None:
    """The coordinator, or None while it cannot serve (its offsets log offline: as Kafka,
    whose coordinator for a leaderless `__consumer_offsets` partition is not available,
    rather than answering as if nothing had been committed)."""
    info = broker.logs.topic(OFFSETS_TOPIC)
    if info is not None and any(
        broker.logs.log(OFFSETS_TOPIC, p).recovery_error is not None for p in range(info.partitions)
    ):
        return None
    return broker.groups


# -- FindCoordinator ----------------------------------------------------------------------


def _locate(broker: Broker, key_type: int) -> tuple[int, str]:
    if key_type == GROUP_KEY and coordinator_of(broker) is not None:
        return err.NONE, ""
    if key_type == TRANSACTION_KEY:
        if broker.transactions is not None and broker.transactions.available:
            return err.NONE, ""
        return err.COORDINATOR_NOT_AVAILABLE, "the transaction coordinator is not available"
    return err.COORDINATOR_NOT_AVAILABLE, "the group coordinator is not available"


def _find(broker: Broker, ctx: RequestContext, key_type: int, key: str) -> tuple[int, str]:
    resource = access.GROUP if key_type == GROUP_KEY else access.TRANSACTIONAL_ID
    refused = access.refusal(broker, ctx, Operation.DESCRIBE, resource, key)
    if refused:
        return refused, access.DENIED
    return _locate(broker, key_type)


def _group_refusal(broker: Broker, ctx: RequestContext, group_id: str) -> int:
    """Kafka's check for a member's requests: READ on the group."""
    return access.refusal(broker, ctx, Operation.READ, access.GROUP, group_id)


@handles(ApiKey.FIND_COORDINATOR, min_version=0, max_version=4)
async def find_coordinator(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    node = broker.config.node_id
    host, port = broker.address(ctx.listener)
    key_type = getattr(request, "key_type", GROUP_KEY)
    if ctx.api_version >= 4:
        coordinators = []
        for key in request.coordinator_keys:
            code, message = _find(broker, ctx, key_type, key)
            coordinators.append(
                make(
                    ctx.schema.Coordinator,
                    key=key,
                    node_id=node if code == 0 else -1,
                    host=host if code == 0 else "",
                    port=port if code == 0 else -1,
                    error_code=code,
                    error_message=message or None,
                )
            )
        return make(ctx.response_class, throttle_time=0, coordinators=tuple(coordinators))
    code, message = _find(broker, ctx, key_type, request.key)
    return make(
        ctx.response_class,
        throttle_time=0,
        error_code=code,
        error_message=message or None,
        node_id=node if code == 0 else -1,
        host=host if code == 0 else "",
        port=port if code == 0 else -1,
    )


# -- JoinGroup / SyncGroup / Heartbeat / LeaveGroup --------------------------------------


@handles(ApiKey.JOIN_GROUP, min_version=0, max_version=7)
async def join_group(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    coord = coordinator_of(broker)
    cls = ctx.response_class

    def fail(code: int, member_id: str = "") -> Any:
        return make(
            cls,
            throttle_time=0,
            error_code=code,
            generation_id=-1,
            protocol_name="" if ctx.api_version < 7 else None,
            protocol_type=None,
            leader="",
            member_id=member_id,
            members=(),
        )

    if coord is None:
        return fail(err.COORDINATOR_NOT_AVAILABLE, request.member_id)
    refused = _group_refusal(broker, ctx, request.group_id)
    if refused:
        return fail(refused, request.member_id)
    session = millis(request.session_timeout)
    rebalance = (
        millis(request.rebalance_timeout) if ctx.api_version >= 1 else V0_REBALANCE_TIMEOUT_MS
    )
    if rebalance < 0:
        rebalance = session
    req = JoinRequest(
        member_id=request.member_id,
        group_instance_id=getattr(request, "group_instance_id", None),
        client_id=ctx.client_id or "",
        client_host=_host(ctx),
        session_timeout_ms=session,
        rebalance_timeout_ms=rebalance,
        protocol_type=request.protocol_type,
        protocols=[(p.name, bytes(p.metadata)) for p in request.protocols],
        require_known_member_id=ctx.api_version >= 4,
        supports_skip_assignment=ctx.api_version >= 9,
    )
    reply = await coord.join(request.group_id, req)
    if reply.error:
        return fail(reply.error, reply.member_id)
    members = tuple(
        make(ctx.schema.JoinGroupResponseMember, member_id=m, group_instance_id=i, metadata=md)
        for m, i, md in reply.members
    )
    return make(
        cls,
        throttle_time=0,
        error_code=0,
        generation_id=reply.generation_id,
        protocol_type=reply.protocol_type,
        protocol_name=reply.protocol_name or "",
        leader=reply.leader,
        skip_assignment=reply.skip_assignment,
        member_id=reply.member_id,
        members=members,
    )


@handles(ApiKey.SYNC_GROUP, min_version=0, max_version=5)
async def sync_group(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    coord = coordinator_of(broker)
    if coord is None:
        return make(
            ctx.response_class,
            throttle_time=0,
            error_code=err.COORDINATOR_NOT_AVAILABLE,
            assignment=b"",
        )
    refused = _group_refusal(broker, ctx, request.group_id)
    if refused:
        return make(ctx.response_class, throttle_time=0, error_code=refused, assignment=b"")
    assignments = {a.member_id: bytes(a.assignment) for a in request.assignments}
    reply = await coord.sync(
        request.group_id,
        request.member_id,
        request.generation_id,
        assignments,
        getattr(request, "group_instance_id", None),
    )
    return make(
        ctx.response_class,
        throttle_time=0,
        error_code=reply.error,
        protocol_type=reply.protocol_type,
        protocol_name=reply.protocol_name,
        assignment=reply.assignment,
    )


@handles(ApiKey.HEARTBEAT, min_version=0, max_version=4)
async def heartbeat(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    coord = coordinator_of(broker)
    code = _group_refusal(broker, ctx, request.group_id) or (
        err.COORDINATOR_NOT_AVAILABLE
        if coord is None
        else coord.heartbeat(
            request.group_id,
            request.member_id,
            request.generation_id,
            getattr(request, "group_instance_id", None),
        )
    )
    return make(ctx.response_class, throttle_time=0, error_code=code)


@handles(ApiKey.LEAVE_GROUP, min_version=0, max_version=5)
async def leave_group(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    coord = coordinator_of(broker)
    if ctx.api_version >= 3:
        leavers = [(m.member_id, m.group_instance_id) for m in request.members]
    else:
        leavers = [(request.member_id, None)]
    if coord is None:
        return make(
            ctx.response_class,
            throttle_time=0,
            error_code=err.COORDINATOR_NOT_AVAILABLE,
            members=(),
        )
    refused = _group_refusal(broker, ctx, request.group_id)
    if refused:
        return make(ctx.response_class, throttle_time=0, error_code=refused, members=())
    top, errors = coord.leave(request.group_id, leavers)
    if ctx.api_version < 3:
        return make(ctx.response_class, throttle_time=0, error_code=top or errors[0])
    members = tuple(
        make(ctx.schema.MemberResponse, member_id=m, group_instance_id=i, error_code=code)
        for (m, i), code in zip(leavers if errors else [], errors, strict=True)
    )
    return make(ctx.response_class, throttle_time=0, error_code=top, members=members)


# -- admin --------------------------------------------------------------------------------


def _with_share_groups(broker: Broker, groups: list[GroupSummary]) -> list[GroupSummary]:
    shares = [
        GroupSummary(s.group.group_id, "share", s.group.state, "share")
        for s in broker.shares.listed()
    ]
    return sorted(groups + shares, key=lambda g: g.group_id)


@handles(ApiKey.LIST_GROUPS, min_version=0, max_version=5)
async def list_groups(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    coord = coordinator_of(broker)
    if coord is None:
        return make(
            ctx.response_class, throttle_time=0, error_code=err.COORDINATOR_NOT_AVAILABLE, groups=()
        )
    states = {s.lower() for s in getattr(request, "states_filter", ()) or ()}
    types = {t.lower() for t in getattr(request, "types_filter", ()) or ()}
    # As Kafka: DESCRIBE on the cluster lists every group, else those the principal may
    # describe.
    every = access.allowed(broker, ctx, Operation.DESCRIBE, access.CLUSTER)
    groups = tuple(
        make(
            ctx.schema.ListedGroup,
            group_id=g.group_id,
            protocol_type=g.protocol_type,
            group_state=g.state,
            group_type=g.group_type,
        )
        for g in _with_share_groups(broker, coord.list_groups())
        if (not states or g.state.lower() in states)
        and (not types or g.group_type in types)
        and (every or access.allowed(broker, ctx, Operation.DESCRIBE, access.GROUP, g.group_id))
    )
    return make(ctx.response_class, throttle_time=0, error_code=0, groups=groups)


def _not_classic(broker: Broker, coord: Any, group_id: str) -> bool:
    """A KIP-848 consumer group or a share group: one DescribeGroups does not describe."""
    share = broker.shares.groups.get(group_id)
    return group_id in coord.consumer or bool(share and share.exists)


@handles(ApiKey.DESCRIBE_GROUPS, min_version=0, max_version=6)
async def describe_groups(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    coord = coordinator_of(broker)
    schema = ctx.schema
    # From v6 (KIP-1043) a group it cannot describe is GROUP_ID_NOT_FOUND, saying why;
    # before, it is only "Dead".
    says_why = ctx.api_version >= 6
    out = []
    for group_id in request.groups:
        fields: dict[str, Any] = dict(
            error_code=0,
            error_message=None,
            group_id=group_id,
            group_state="Dead",
            protocol_type="",
            protocol_data="",
            members=(),
            authorized_operations=-2147483648,
        )
        refused = access.refusal(broker, ctx, Operation.DESCRIBE, access.GROUP, group_id)
        if refused:
            fields.update(error_code=refused, group_state="")
        elif coord is None:
            fields["error_code"] = err.COORDINATOR_NOT_AVAILABLE
        else:
            if broker.authorizer is not None and getattr(
                request, "include_authorized_operations", False
            ):
                fields["authorized_operations"] = access.authorized_operations(
                    broker, ctx, access.GROUP, group_id
                )
            group = coord.classic.get(group_id)
            if _not_classic(broker, coord, group_id):
                # Kafka's classic view finds no such group (a KIP-848 group's classic
                # members included: the group is a consumer group).
                if says_why:
                    fields.update(
                        error_code=err.GROUP_ID_NOT_FOUND,
                        error_message=f"Group {group_id} is not a classic group.",
                    )
            elif group is not None:
                fields.update(
                    group_state=group.state.value,
                    protocol_type=group.protocol_type or "",
                    protocol_data=group.protocol_name or "",
                    members=tuple(
                        make(
                            schema.DescribedGroupMember,
                            member_id=m.member_id,
                            group_instance_id=m.group_instance_id,
                            client_id=m.client_id,
                            client_host=m.client_host,
                            member_metadata=m.metadata_for(group.protocol_name or ""),
                            member_assignment=m.assignment,
                        )
                        for m in group.members.values()
                    ),
                )
            elif coord.group_exists(group_id):
                # Offsets only (commits without membership): Kafka's "simple" group.
                fields.update(group_state="Empty")
            elif says_why:
                fields.update(
                    error_code=err.GROUP_ID_NOT_FOUND, error_message=f"Group {group_id} not found."
                )
        out.append(make(schema.DescribedGroup, **fields))
    return make(ctx.response_class, throttle_time=0, groups=tuple(out))


async def _delete_group(broker: Broker, coord: Any, group_id: str) -> int:
    if group_id in broker.shares.groups and broker.shares.groups[group_id].exists:
        return await broker.shares.delete_group(group_id)
    if coord is None:
        return err.COORDINATOR_NOT_AVAILABLE
    return int(await coord.delete_group(group_id))


@handles(ApiKey.DELETE_GROUPS, min_version=0, max_version=2)
async def delete_groups(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    coord = coordinator_of(broker)
    results = []
    # A group named twice is deleted and answered once, as Kafka answers it.
    for group_id in dict.fromkeys(request.groups_names):
        code = access.refusal(broker, ctx, Operation.DELETE, access.GROUP, group_id)
        if not code:
            code = await _delete_group(broker, coord, group_id)
        results.append(make(ctx.schema.DeletableGroupResult, group_id=group_id, error_code=code))
    return make(ctx.response_class, throttle_time=0, results=tuple(results))


# -- KIP-848 -------------------------------------------------------------------------------


@handles(CONSUMER_GROUP_HEARTBEAT, min_version=0, max_version=1)
async def consumer_group_heartbeat(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    coord = coordinator_of(broker)
    schema = ctx.schema
    if coord is None:
        return make(
            ctx.response_class,
            throttle_time=0,
            error_code=err.COORDINATOR_NOT_AVAILABLE,
            member_epoch=-1,
            heartbeat_interval=0,
        )
    # Kafka answers both refusals with its generic error response: no message, epoch 0.
    refused = access.refusal(broker, ctx, Operation.READ, access.GROUP, request.group_id)
    subscribed = request.subscribed_topic_names
    if not refused and access.subscription_refused(
        broker, ctx, list(subscribed) if subscribed else None
    ):
        refused = TOPIC_AUTHORIZATION_FAILED
    if refused:
        return make(
            ctx.response_class,
            throttle_time=0,
            error_code=refused,
            member_epoch=0,
            heartbeat_interval=0,
        )
    owned = None
    if request.topic_partitions is not None:
        owned = to_assignment(
            (tp.topic_id, tp.partitions) for tp in request.topic_partitions if tp.topic_id
        )
    req = HeartbeatRequest(
        member_id=request.member_id,
        member_epoch=request.member_epoch,
        instance_id=request.instance_id,
        rack_id=request.rack_id,
        rebalance_timeout_ms=millis(request.rebalance_timeout),
        subscribed=(
            list(request.subscribed_topic_names)
            if request.subscribed_topic_names is not None
            else None
        ),
        subscribed_regex=getattr(request, "subscribed_topic_regex", None),
        server_assignor=request.server_assignor,
        owned=owned,
        client_id=ctx.client_id or "",
        client_host=_host(ctx),
    )
    result = coord.consumer_heartbeat(request.group_id, req)
    # Kafka makes epochs and assignments durable before the member hears of them.
    await coord.persist_quietly(request.group_id)
    assignment = None
    if result.assignment is not None:
        assignment = make(
            schema.Assignment,
            topic_partitions=tuple(
                make(schema.TopicPartitions, topic_id=t, partitions=tuple(sorted(ps)))
                for t, ps in sorted(result.assignment.items(), key=lambda kv: str(kv[0]))
            ),
        )
    return make(
        ctx.response_class,
        throttle_time=0,
        error_code=result.error,
        error_message=result.message,
        member_id=result.member_id or request.member_id or None,
        member_epoch=result.member_epoch if not result.error else -1,
        heartbeat_interval=coord.consumer_heartbeat_interval_ms,
        assignment=assignment,
    )


def _topic_partitions(coord: GroupCoordinator, schema: Any, assignment: dict) -> Any:
    return make(
        schema.Assignment,
        topic_partitions=tuple(
            make(
                schema.TopicPartitions,
                topic_id=t,
                topic_name=coord.topic_name(t) or "",
                partitions=tuple(sorted(ps)),
            )
            for t, ps in sorted(assignment.items(), key=lambda kv: str(kv[0]))
        ),
    )


@handles(CONSUMER_GROUP_DESCRIBE, min_version=0, max_version=1)
async def consumer_group_describe(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    coord = coordinator_of(broker)
    schema = ctx.schema
    out = []
    for group_id in request.group_ids:
        base: dict[str, Any] = dict(
            group_id=group_id,
            error_code=0,
            error_message=None,
            group_state="Dead",
            group_epoch=-1,
            assignment_epoch=-1,
            assignor_name="",
            members=(),
            authorized_operations=-2147483648,
        )
        cgroup = coord.consumer.get(group_id) if coord is not None else None
        refused = access.refusal(broker, ctx, Operation.DESCRIBE, access.GROUP, group_id)
        if refused:
            base.update(error_code=refused)
        elif coord is None:
            base.update(error_code=err.COORDINATOR_NOT_AVAILABLE)
        elif cgroup is None or coord.group_type(group_id) != "consumer":
            # librdkafka falls back to DescribeGroups on exactly this error.
            share = broker.shares.groups.get(group_id)
            known = coord.group_type(group_id) is not None or bool(share and share.exists)
            base.update(
                error_code=err.GROUP_ID_NOT_FOUND,
                error_message=f"Group {group_id} "
                + ("is not a consumer group." if known else "not found."),
            )
        else:
            assignor = next(
                (m.server_assignor for m in cgroup.members.values() if m.server_assignor),
                "uniform",
            )
            base.update(
                group_state=cgroup.state,
                group_epoch=cgroup.group_epoch,
                assignment_epoch=cgroup.assignment_epoch,
                assignor_name=assignor,
                members=tuple(
                    make(
                        schema.Member,
                        member_id=m.member_id,
                        instance_id=m.instance_id,
                        rack_id=m.rack_id,
                        member_epoch=m.epoch,
                        client_id=m.client_id,
                        client_host=m.client_host,
                        subscribed_topic_names=tuple(m.subscribed),
                        subscribed_topic_regex=m.regex,
                        assignment=_topic_partitions(coord, schema, m.assigned),
                        target_assignment=_topic_partitions(
                            coord, schema, cgroup.target.get(m.member_id, {})
                        ),
                        member_type=1,
                    )
                    for m in cgroup.members.values()
                ),
            )
        out.append(make(schema.DescribedGroup, **base))
    return make(ctx.response_class, throttle_time=0, groups=tuple(out))
