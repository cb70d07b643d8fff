"""Share-group APIs: ShareGroupHeartbeat (76) and ShareGroupDescribe (77) v1, ShareFetch (78)
and ShareAcknowledge (79) v1–2 (v2: RENEW acknowledgements under IsRenewAck, which fetch
nothing, and ShareFetch's acquire mode, where record_limit never exceeds MaxRecords).

Owns the translation between kio's messages and `logstore.shares.coordinator`: a null
group or member id refused whole (INVALID_REQUEST), then session checks, then
acknowledgements (atomic per partition), forgotten partitions, and only then acquisition
of records read from the log. Changed state is on disk before the answer
leaves; when the disk refuses it, each acknowledgement is answered KAFKA_STORAGE_ERROR with
the reason (it stays in force in memory, but a restart before the next write undoes it),
while acquired records and heartbeats are answered as usual (Kafka never writes
acquisitions; a first join's flag is written next time). The connection stays open.
Record bytes are copied out of the log here (kio encodes ShareFetch), one read per
partition. It must never decide record states itself.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterable
from typing import Any

from logstore.broker import access, share_access
from logstore.broker.api import RequestContext, handles
from logstore.broker.build import make, millis
from logstore.broker.context import Broker
from logstore.error_codes import (
    GROUP_AUTHORIZATION_FAILED,
    GROUP_ID_NOT_FOUND,
    INVALID_REQUEST,
    KAFKA_STORAGE_ERROR,
    TOPIC_AUTHORIZATION_FAILED,
    UNKNOWN_MEMBER_ID,
    UNKNOWN_SERVER_ERROR,
    UNKNOWN_TOPIC_ID,
    UNKNOWN_TOPIC_OR_PARTITION,
)
from logstore.protocol.api_keys import ApiKey
from logstore.records.header import iter_headers
from logstore.security.acls import Operation
from logstore.shares.aborted import aborted_batches
from logstore.shares.coordinator import AckBatches, PartitionId, ShareCoordinator
from logstore.shares.sessions import (
    FINAL_EPOCH,
    INITIAL_EPOCH,
    INVALID_SHARE_SESSION_EPOCH,
    SessionRefused,
)
from logstore.shares.store import ShareStateWriteError

DEFAULT_MAX_RECORDS = 500
GROUP_DENIED = "Group authorization failed."
# The schema lets both ids be null; Kafka refuses such a request whole.
UNNAMED = "A share request must name its group and member."
# ShareFetch v2's ShareAcquireMode.
BATCH_OPTIMIZED, RECORD_LIMIT = 0, 1


def _host(ctx: RequestContext) -> str:
    return ctx.client_host if ctx.client_host.startswith("/") else "/" + ctx.client_host


@handles(ApiKey.SHARE_GROUP_HEARTBEAT, min_version=1, max_version=1)
async def share_group_heartbeat(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    shares = broker.shares
    subscribed = request.subscribed_topic_names

    def refused(code: int, message: str | None) -> Any:
        return make(
            ctx.response_class,
            throttle_time=0,
            error_code=code,
            error_message=message,
            member_id=None,
            member_epoch=0,
            heartbeat_interval=0,
            assignment=None,
        )

    if share_access.group_refused(broker, ctx, request.group_id):
        return refused(GROUP_AUTHORIZATION_FAILED, GROUP_DENIED)
    if access.subscription_refused(broker, ctx, subscribed):
        return refused(TOPIC_AUTHORIZATION_FAILED, None)
    if not request.group_id:
        return refused(INVALID_REQUEST, "GroupId can't be empty.")
    if broker.groups.group_type(request.group_id) is not None:
        return refused(GROUP_ID_NOT_FOUND, f"Group {request.group_id} is not a share group.")
    known = shares.groups.get(request.group_id)
    was_created = known is not None and known.created
    result, interval = shares.heartbeat(
        request.group_id,
        request.member_id,
        request.member_epoch,
        None if subscribed is None else list(subscribed),
        ctx.client_id or "",
        _host(ctx),
        request.rack_id,
    )
    assignment = None
    if result.error == 0 and result.assignment is not None:
        schema = ctx.schema
        assignment = make(
            schema.Assignment,
            topic_partitions=tuple(
                make(schema.TopicPartitions, topic_id=tid, partitions=tuple(parts))
                for tid, parts in result.assignment.items()
            ),
        )
    if result.error == 0 and (request.member_epoch == FINAL_EPOCH or not was_created):
        # The first join makes the group exist for good (Empty once everyone leaves). A
        # refused write (logged) refuses no member: the flag is written with the next one.
        with contextlib.suppress(ShareStateWriteError):
            await shares.persist(request.group_id)
    return make(
        ctx.response_class,
        throttle_time=0,
        error_code=result.error,
        error_message=result.message,
        member_id=result.member_id or None,
        member_epoch=result.member_epoch,
        heartbeat_interval=interval,
        assignment=assignment,
    )


def _ack_batches(partition: Any) -> AckBatches:
    return [
        (b.first_offset, b.last_offset, list(b.acknowledge_types))
        for b in partition.acknowledgement_batches
    ]


def _log_of(broker: Broker, pid: PartitionId) -> tuple[Any, str, int]:
    """(log, topic name, error) for a share-partition."""
    info = broker.logs.topic_by_id(pid[0])
    if info is None:
        return None, "", UNKNOWN_TOPIC_ID
    if not 0 <= pid[1] < info.partitions:
        return None, info.name, UNKNOWN_TOPIC_OR_PARTITION
    log = broker.logs.log(info.name, pid[1])
    if getattr(log, "recovery_error", None):
        return None, info.name, KAFKA_STORAGE_ERROR
    return log, info.name, 0


class _Answer:
    """One partition's part of a ShareFetch/ShareAcknowledge answer."""

    __slots__ = ("ack_error", "ack_message", "acquired", "error", "records")

    def __init__(self) -> None:
        self.error = 0
        self.ack_error = 0
        self.ack_message: str | None = None
        self.records = b""
        self.acquired: list[tuple[int, int, int]] = []


def _acknowledge(
    broker: Broker,
    group_id: str,
    member_id: str,
    acks: dict[PartitionId, AckBatches],
    renew: bool,
    denied: set[PartitionId],
) -> dict[PartitionId, _Answer]:
    answers: dict[PartitionId, _Answer] = {}
    for pid, batches in acks.items():
        answer = answers[pid] = _Answer()
        _, _, error = _log_of(broker, pid)
        if pid in denied:
            error = TOPIC_AUTHORIZATION_FAILED
        if error:
            answer.ack_error = error
            continue
        answer.ack_error, answer.ack_message = broker.shares.acknowledge(
            group_id, member_id, pid, batches, renew
        )
    return answers


async def _persist(
    shares: ShareCoordinator,
    group_id: str,
    answers: dict[PartitionId, _Answer],
    acked: Iterable[PartitionId],
) -> None:
    """Write the group; if the disk refuses (the coordinator logs it), every acknowledgement
    that took effect is answered KAFKA_STORAGE_ERROR with the reason. Not rolled back:
    other members' requests change the same share-partitions while the write is awaited."""
    try:
        await shares.persist(group_id)
    except ShareStateWriteError as exc:
        for pid in acked:
            answer = answers[pid]
            if answer.ack_error == 0:
                answer.ack_error, answer.ack_message = exc.code, str(exc)


def _acquire(
    broker: Broker,
    shares: ShareCoordinator,
    group_id: str,
    member_id: str,
    pids: list[PartitionId],
    max_bytes: int,
    max_records: int,
    answers: dict[PartitionId, _Answer],
    record_limit: bool,
    denied: set[PartitionId],
) -> int:
    """Acquire records on each partition in turn; returns how many were acquired."""
    cfg = shares.config(group_id)
    committed = cfg.read_committed
    cap = shares.settings.share_partition_max_record_locks
    now = shares.clock.monotonic_ms()
    total = 0
    for pid in pids:
        if total >= max_records or max_bytes <= 0:
            break
        log, _, error = _log_of(broker, pid)
        answer = answers.setdefault(pid, _Answer())
        if pid in denied:
            error = TOPIC_AUTHORIZATION_FAILED
        if error:
            answer.error = error
            continue
        part = shares.partition(group_id, pid, log)
        # read_committed: nothing at or past the last stable offset is acquired yet.
        upper = broker.producers.last_stable_offset(log) if committed else log.log_end_offset
        start = part.next_available()
        if start is None:
            if part.in_flight >= cap or part.end_offset >= upper:
                continue
            start = part.end_offset
        try:
            piece = log.read(start, max_bytes, max_offset=upper if committed else None)
        except Exception as exc:
            answer.error = getattr(exc, "code", KAFKA_STORAGE_ERROR)
            continue
        with piece:
            if not piece.size:
                continue
            data = piece.to_bytes()
            # New records: whole batches until MaxRecords (and the in-flight cap) is reached,
            # the batch crossing it included, as Kafka's batch-optimized acquisition does.
            want = min(max_records - total, cap - part.in_flight)
            stop, cut = _batch_stop(data, part.end_offset, want, piece.next_offset)
            acquired = part.acquire(
                member_id,
                start,
                stop,
                now,
                cfg.lock_duration_ms,
                max_records - total,
                record_limit=record_limit,
            )
            if not acquired:
                continue
            answer.records = data[:cut]
        if committed:
            skipped = aborted_batches(
                answer.records, broker.producers.aborted_transactions(log, start, stop)
            )
            acquired = part.archive_acquired(member_id, skipped, acquired)
            if not acquired:
                answer.records = b""
                continue
        answer.acquired = acquired
        total += sum(last - first + 1 for first, last, _ in acquired)
        max_bytes -= len(answer.records)
    return total


def _batch_stop(data: bytes, first_new: int, want: int, read_stop: int) -> tuple[int, int]:
    """(stop offset, bytes to send) of `data` (whole batches read from the log) so that new
    records from `first_new` on end with the batch where `want` of them are reached."""
    if want <= 0:
        return first_new, len(data)
    target = first_new + want - 1
    for pos, header in iter_headers(data):
        if header.last_offset >= target:
            return header.next_offset, pos + header.size
    return read_stop, len(data)


def _partition_reply(schema: Any, broker: Broker, index: int, answer: _Answer) -> Any:
    return make(
        schema.PartitionData,
        partition_index=index,
        error_code=answer.error,
        error_message=None,
        acknowledge_error_code=answer.ack_error,
        acknowledge_error_message=answer.ack_message,
        current_leader=make(
            schema.LeaderIdAndEpoch, leader_id=broker.config.node_id, leader_epoch=0
        ),
        records=answer.records,
        acquired_records=tuple(
            make(schema.AcquiredRecords, first_offset=f, last_offset=la, delivery_count=c)
            for f, la, c in answer.acquired
        ),
    )


def _topics_reply(
    schema: Any, broker: Broker, topic_cls: Any, answers: dict[PartitionId, _Answer], fetch: bool
) -> tuple[Any, ...]:
    by_topic: dict[uuid.UUID, list[Any]] = {}
    for (tid, index), answer in answers.items():
        if fetch:
            part = _partition_reply(schema, broker, index, answer)
        else:
            part = make(
                schema.PartitionData,
                partition_index=index,
                error_code=answer.ack_error,
                error_message=answer.ack_message,
                current_leader=make(
                    schema.LeaderIdAndEpoch, leader_id=broker.config.node_id, leader_epoch=0
                ),
            )
        by_topic.setdefault(tid, []).append(part)
    return tuple(
        make(topic_cls, topic_id=tid, partitions=tuple(parts)) for tid, parts in by_topic.items()
    )


def _refused(ctx: RequestContext, code: int, message: str | None) -> Any:
    """A ShareFetch or ShareAcknowledge refused as a whole (fields a version lacks drop)."""
    return make(
        ctx.response_class,
        throttle_time=0,
        error_code=code,
        error_message=message,
        acquisition_lock_timeout=0,
        responses=(),
        node_endpoints=(),
    )


def _session_partitions(
    broker: Broker, ctx: RequestContext, group_id: str, member_id: str, epoch: int, request: Any
) -> list[PartitionId]:
    """Open, update or close the member's share session; the partitions to fetch from."""
    sessions = broker.shares.sessions
    requested = [(t.topic_id, p.partition_index) for t in request.topics for p in t.partitions]
    forgotten = {
        (t.topic_id, index) for t in request.forgotten_topics_data or () for index in t.partitions
    }
    if epoch == FINAL_EPOCH:
        closed = sessions.close(group_id, member_id)
        if closed is not None:
            broker.shares.release_session(group_id, member_id, closed.partitions)
        return []
    session = sessions.get(group_id, member_id)
    if epoch == INITIAL_EPOCH or session is None:
        session = sessions.open(group_id, member_id, ctx.connection)
    else:
        session.advance()
    session.partitions.update(requested)
    session.partitions.difference_update(forgotten)
    if forgotten:
        broker.shares.release_session(group_id, member_id, forgotten)
    ordered = [pid for pid in requested if pid in session.partitions]
    return ordered + sorted(set(session.partitions) - set(ordered), key=str)


def _renew_refusal(request: Any) -> Any:
    """Kafka's top-level refusals of v2's fields: a renewing fetch must ask for nothing,
    and the acquire mode must be one it knows (an unknown one fails as a server error)."""
    mode = getattr(request, "share_acquire_mode", BATCH_OPTIMIZED)
    if mode not in (BATCH_OPTIMIZED, RECORD_LIMIT):
        return UNKNOWN_SERVER_ERROR, f"Unknown share acquire mode {mode}"
    asks = (request.max_bytes, request.min_bytes, request.max_records, millis(request.max_wait))
    if getattr(request, "is_renew_ack", False) and any(asks):
        return INVALID_REQUEST, "Fetch parameters must be 0 in a renew acknowledgement request."
    return None


@handles(ApiKey.SHARE_FETCH, min_version=1, max_version=2)
async def share_fetch(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    shares = broker.shares
    group_id, member_id, epoch = request.group_id, request.member_id, request.share_session_epoch
    renew = bool(getattr(request, "is_renew_ack", False))
    acks = {
        (t.topic_id, p.partition_index): _ack_batches(p)
        for t in request.topics
        for p in t.partitions
        if p.acknowledgement_batches
    }
    if group_id is None or member_id is None:
        return _refused(ctx, INVALID_REQUEST, UNNAMED)
    if share_access.group_refused(broker, ctx, group_id):
        return _refused(ctx, GROUP_AUTHORIZATION_FAILED, GROUP_DENIED)
    refused = _renew_refusal(request)
    if refused is not None:
        return _refused(ctx, *refused)
    try:
        shares.sessions.check(group_id, member_id, epoch, bool(acks))
    except SessionRefused as exc:
        return _refused(ctx, exc.code, str(exc))
    shares.reap(group_id)
    if epoch == INITIAL_EPOCH and not shares.is_member(group_id, member_id):
        return _refused(ctx, UNKNOWN_MEMBER_ID, f"Member {member_id} is not in the share group.")
    denied = share_access.unreadable(broker, ctx, list(acks))
    answers = _acknowledge(broker, group_id, member_id, acks, renew, denied)
    pids = _session_partitions(broker, ctx, group_id, member_id, epoch, request)
    denied = share_access.unreadable(broker, ctx, pids)
    if renew:
        # Renewing keeps what the member holds and fetches nothing new.
        pids = []
    max_records = request.max_records if request.max_records > 0 else DEFAULT_MAX_RECORDS
    max_bytes = request.max_bytes if request.max_bytes > 0 else 2**31 - 1
    limit = getattr(request, "share_acquire_mode", BATCH_OPTIMIZED) == RECORD_LIMIT

    def acquire() -> int:
        return _acquire(
            broker, shares, group_id, member_id, pids, max_bytes, max_records, answers, limit,
            denied,
        )  # fmt: skip

    got = acquire()
    deadline = time.monotonic() + max(millis(request.max_wait), 0) / 1000.0
    while not got and not acks and pids and not broker.shutting_down:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        keys = [(name, pid[1]) for pid in pids if (name := _log_of(broker, pid)[1])]
        # Locks lapse on the clock, not on appends: look again at least every 100 ms.
        await broker.appends.wait_any(keys, min(left, 0.1))
        if shares.sessions.get(group_id, member_id) is None:
            break
        got = acquire()
    if acks or got or epoch == FINAL_EPOCH:
        await _persist(shares, group_id, answers, acks)
    # A session's first answer names every partition in it; later ones leave out those
    # with nothing to say, as Kafka's incremental answers do.
    if epoch == INITIAL_EPOCH:
        for pid in pids:
            answers.setdefault(pid, _Answer())
    sent = {
        pid: a
        for pid, a in answers.items()
        if epoch == INITIAL_EPOCH or a.acquired or a.error or pid in acks or a.ack_error
    }
    return make(
        ctx.response_class,
        throttle_time=0,
        error_code=0,
        error_message=None,
        acquisition_lock_timeout=shares.config(group_id).lock_duration_ms,
        responses=_topics_reply(
            ctx.schema, broker, ctx.schema.ShareFetchableTopicResponse, sent, fetch=True
        ),
        node_endpoints=(),
    )


@handles(ApiKey.SHARE_ACKNOWLEDGE, min_version=1, max_version=2)
async def share_acknowledge(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    shares = broker.shares
    renew = bool(getattr(request, "is_renew_ack", False))
    group_id, member_id, epoch = request.group_id, request.member_id, request.share_session_epoch
    acks = {
        (t.topic_id, p.partition_index): _ack_batches(p)
        for t in request.topics
        for p in t.partitions
    }
    if group_id is None or member_id is None:
        return _refused(ctx, INVALID_REQUEST, UNNAMED)
    if share_access.group_refused(broker, ctx, group_id):
        return _refused(ctx, GROUP_AUTHORIZATION_FAILED, GROUP_DENIED)
    try:
        if epoch == INITIAL_EPOCH:
            # Only ShareFetch opens sessions: Kafka refuses the initial epoch here.
            raise SessionRefused(INVALID_SHARE_SESSION_EPOCH, "The share session epoch is invalid.")
        shares.sessions.check(group_id, member_id, epoch, True)
    except SessionRefused as exc:
        return _refused(ctx, exc.code, str(exc))
    denied = share_access.unreadable(broker, ctx, list(acks))
    answers = _acknowledge(broker, group_id, member_id, acks, renew, denied)
    if epoch == FINAL_EPOCH:
        closed = shares.sessions.close(group_id, member_id)
        if closed is not None:
            shares.release_session(group_id, member_id, closed.partitions)
    else:
        session = shares.sessions.get(group_id, member_id)
        if session is not None:
            session.advance()
    await _persist(shares, group_id, answers, acks)
    return make(
        ctx.response_class,
        throttle_time=0,
        error_code=0,
        error_message=None,
        acquisition_lock_timeout=shares.config(group_id).lock_duration_ms,
        responses=_topics_reply(
            ctx.schema, broker, ctx.schema.ShareAcknowledgeTopicResponse, answers, fetch=False
        ),
        node_endpoints=(),
    )


@handles(ApiKey.SHARE_GROUP_DESCRIBE, min_version=1, max_version=1)
async def share_group_describe(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    schema = ctx.schema
    shares = broker.shares
    out = []
    for group_id in request.group_ids:
        base: dict[str, Any] = dict(
            group_id=group_id,
            error_code=0,
            error_message=None,
            group_state="",
            group_epoch=-1,
            assignment_epoch=-1,
            assignor_name="",
            members=(),
            authorized_operations=access.NOT_REQUESTED,
        )
        if not access.allowed(broker, ctx, Operation.DESCRIBE, access.GROUP, group_id):
            base.update(error_code=GROUP_AUTHORIZATION_FAILED)
            out.append(make(schema.DescribedGroup, **base))
            continue
        shares.reap(group_id)
        state = shares.groups.get(group_id)
        if state is None or not state.exists:
            known = broker.groups.group_type(group_id) is not None
            message = f"Group {group_id} is not a share group." if known else None
            base.update(
                error_code=GROUP_ID_NOT_FOUND,
                error_message=message or f"Group {group_id} not found.",
            )
            out.append(make(schema.DescribedGroup, **base))
            continue
        group = state.group
        members = []
        for m in group.members.values():
            assigned = group.assignment_of(m, shares.resolve)
            members.append(
                make(
                    schema.Member,
                    member_id=m.member_id,
                    rack_id=m.rack_id,
                    member_epoch=m.epoch,
                    client_id=m.client_id,
                    client_host=m.client_host,
                    subscribed_topic_names=tuple(m.subscribed),
                    assignment=make(
                        schema.Assignment,
                        topic_partitions=tuple(
                            make(
                                schema.TopicPartitions,
                                topic_id=tid,
                                topic_name=shares.topic_name(tid),
                                partitions=tuple(parts),
                            )
                            for tid, parts in assigned.items()
                        ),
                    ),
                )
            )
        base.update(
            group_state=group.state,
            group_epoch=group.group_epoch,
            assignment_epoch=group.group_epoch,
            assignor_name="simple",
            members=tuple(members),
        )
        if getattr(request, "include_authorized_operations", False):
            base["authorized_operations"] = access.authorized_operations(
                broker, ctx, access.GROUP, group_id
            )
        if broker.authorizer is not None and not all(
            access.allowed(broker, ctx, Operation.DESCRIBE, access.TOPIC, shares.topic_name(tid))
            for m in group.members.values()
            for tid in group.assignment_of(m, shares.resolve)
        ):
            base.update(
                error_code=TOPIC_AUTHORIZATION_FAILED,
                error_message=(
                    "The group has described topic(s) that the client is not authorized "
                    "to describe."
                ),
                members=(),
            )
        out.append(make(schema.DescribedGroup, **base))
    return make(ctx.response_class, throttle_time=0, groups=tuple(out))
