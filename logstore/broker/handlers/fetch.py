"""Fetch (key 1, v4–12): stored bytes out, with long polling woken by appends.

Owns the fetch rules: per-partition and per-response byte limits (the first batch is
always returned whole, KIP-74), offset-out-of-range answers, `max_wait_ms`/`min_bytes`
long polling, and serving fetch sessions (KIP-227, v7+) through
`logstore.broker.fetch_sessions`, which decides what to read and what an incremental reply
may leave out. Records are never decoded: the reply carries storage's read slices, which
the server sends from the segment file. It must never read or copy record bytes itself.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from logstore.broker import access, request_quota
from logstore.broker.api import RawReply, RequestContext, handles
from logstore.broker.build import millis
from logstore.broker.context import Broker
from logstore.broker.errors import (
    KAFKA_STORAGE_ERROR,
    UNKNOWN_SERVER_ERROR,
    UNKNOWN_TOPIC_OR_PARTITION,
    code_of,
)
from logstore.broker.fetch_sessions import (
    FINAL_EPOCH,
    INVALID_FETCH_SESSION_EPOCH,
    INVALID_SESSION_ID,
    Answered,
    FetchPlan,
    FetchSessionCache,
    Wanted,
    select,
)
from logstore.broker.leader_epoch import LEADER_EPOCH, NO_EPOCH, epoch_error
from logstore.error_codes import NOT_LEADER_OR_FOLLOWER
from logstore.protocol.api_keys import ApiKey
from logstore.protocol.fetch_response import (
    FetchPartitionOut,
    FetchTopicOut,
    encode_fetch_response,
)
from logstore.quotas.enforcer import FETCH as FETCH_QUOTA
from logstore.quotas.enforcer import REQUEST as REQUEST_QUOTA
from logstore.security.acls import Operation

READ_COMMITTED = 1
# Requests before v7 carry no session fields: Kafka treats them as sessionless.
FIRST_SESSION_VERSION = 7

Read = tuple[Wanted, FetchPartitionOut]


def _close(slices: list[Any]) -> None:
    for s in slices:
        close = getattr(s, "close", None)
        if close is not None:
            close()


def _read_all(
    broker: Broker, ctx: RequestContext, request: Any, wanted: Sequence[Wanted], cap: int
) -> tuple[list[Read], int, list[Any]]:
    """One pass over the partitions to read, at most `cap` bytes (one batch more, as
    KIP-74 allows): (answers, bytes found, slices to release)."""
    remaining = min(request.max_bytes if request.max_bytes > 0 else 2**31 - 1, cap)
    committed = getattr(request, "isolation_level", 0) == READ_COMMITTED
    found = 0
    slices: list[Any] = []
    answers: list[Read] = []
    # Like Kafka, partitions unknown to the metadata are answered after all the others.
    unknown: list[Read] = []
    # Kafka fails each partition of a fetch with negative byte limits (UNKNOWN_SERVER_ERROR),
    # and one from a replica id as a follower's fetch of a broker that leads nothing for it.
    failed = UNKNOWN_SERVER_ERROR if request.max_bytes < 0 else 0
    if getattr(request, "replica_id", -1) >= 0:
        failed = NOT_LEADER_OR_FOLLOWER
    for p in wanted:
        po = FetchPartitionOut(p.partition, aborted=() if committed else None)
        refused = failed or access.refusal(broker, ctx, Operation.READ, access.TOPIC, p.topic)
        if not refused and p.max_bytes < 0:
            refused = UNKNOWN_SERVER_ERROR
        if refused:
            po.error_code = refused
            po.high_watermark = po.last_stable_offset = po.log_start_offset = -1
            answers.append((p, po))
            continue
        info = broker.logs.topic(p.topic)
        if info is None or not 0 <= p.partition < info.partitions:
            po.error_code = UNKNOWN_TOPIC_OR_PARTITION
            unknown.append((p, po))
            continue
        answers.append((p, po))
        # Kafka's Fetch takes any negative epoch as none; only a newer one is refused.
        if p.current_leader_epoch > LEADER_EPOCH:
            po.error_code = epoch_error(p.current_leader_epoch)
            po.high_watermark = po.last_stable_offset = po.log_start_offset = -1
            continue
        try:
            log = broker.logs.log(p.topic, p.partition)
        except Exception as exc:
            po.error_code = code_of(exc)
            continue
        if getattr(log, "recovery_error", None):
            po.error_code = KAFKA_STORAGE_ERROR
            continue
        end = po.high_watermark = log.log_end_offset
        po.last_stable_offset = broker.producers.last_stable_offset(log)
        po.log_start_offset = log.log_start_offset
        # KIP-74: each partition gets at most what the response has left; storage still
        # returns one whole batch to the first partition with data, however large.
        limit = max(min(p.max_bytes, remaining), 0)
        if (found and limit == 0) or p.fetch_offset == end:
            continue
        # read_committed sees nothing at or past the LSO (Kafka answers such a fetch
        # empty, without an error, as long as the offset is within the log).
        stop = po.last_stable_offset if committed else None
        if stop is not None and stop <= p.fetch_offset <= end:
            continue
        try:
            # Only the first partition with data may exceed the limits (KIP-74): for the
            # others storage answers "does not fit" without opening a slice, which matters
            # when a full reply still lists hundreds of partitions.
            piece = log.read(p.fetch_offset, limit, max_offset=stop, min_one=not found)
        except Exception as exc:
            # Like Kafka, an errored partition carries no offsets: librdkafka would
            # take a log start offset >= 0 here as the place to reset to.
            po.error_code = code_of(exc)
            po.high_watermark = po.last_stable_offset = po.log_start_offset = -1
            continue
        if piece.size:
            po.records = (piece,)
            if committed:
                found_aborted = broker.producers.aborted_transactions(
                    log, p.fetch_offset, log.fetch_upper_bound(piece)
                )
                po.aborted = tuple(found_aborted)
            slices.append(piece)
            found += piece.size
            remaining -= piece.size
    return answers + unknown, found, slices


def _sessions(broker: Broker) -> FetchSessionCache:
    return broker.fetch_sessions


def _plan(broker: Broker, version: int, request: Any) -> FetchPlan:
    requested = [
        Wanted(
            t.topic,
            p.partition,
            p.fetch_offset,
            p.partition_max_bytes,
            getattr(p, "current_leader_epoch", NO_EPOCH),
        )
        for t in request.topics
        for p in t.partitions
    ]
    if len(requested) > 1:
        # A partition named twice is read and answered once, as its last entry asks:
        # Kafka keys the request by partition.
        requested = list({(w.topic, w.partition): w for w in requested}.values())
    if version < FIRST_SESSION_VERSION:
        return _sessions(broker).plan(INVALID_SESSION_ID, FINAL_EPOCH, requested, ())
    forgotten = [
        (t.topic, p) for t in getattr(request, "forgotten_topics_data", ()) for p in t.partitions
    ]
    return _sessions(broker).plan(request.session_id, request.session_epoch, requested, forgotten)


def _to_read(broker: Broker, plan: FetchPlan) -> list[Wanted]:
    """What this pass must read: in a session, partitions with nothing to say are skipped.

    A cached partition that is caught up (fetch offset at the log end), whose watermark
    and log start offset are what the client was last told, and that has no error would be
    read only to be left out of the reply; skipping it here is what makes an idle
    session's Fetch cost little more than the request itself.
    """
    session = plan.session
    if session is None:
        return plan.wanted
    logs = broker.logs
    out = []
    for cached in session.partitions.values():
        w = cached.wanted
        try:
            log = logs.log(w.topic, w.partition)
        except Exception:
            out.append(w)  # answered with its error by the read pass
            continue
        end = log.log_end_offset
        if (
            w.fetch_offset != end
            or cached.high_watermark != end
            or cached.log_start_offset != log.log_start_offset
            or getattr(log, "recovery_error", None)
            or cached.last_stable_offset != broker.producers.last_stable_offset(log)
        ):
            out.append(w)
    return out


def _answered(po: FetchPartitionOut) -> Answered:
    size = sum(r.size for r in po.records)
    return Answered(
        po.error_code, po.high_watermark, po.log_start_offset, size, po.last_stable_offset
    )


def _reply(broker: Broker, plan: FetchPlan, answers: list[Read]) -> tuple[list[Read], int, int]:
    """(answers to send, top-level error, session id) once the reads are done."""
    cache = _sessions(broker)
    session = plan.session
    if session is None:
        opened = cache.open_for(plan, [(w, _answered(po)) for w, po in answers])
        return answers, 0, opened
    if session.epoch != plan.expected_epoch:
        # Another request on this session got in while this one waited (Kafka's check).
        return [], INVALID_FETCH_SESSION_EPOCH, session.id
    chosen = select(session, [(w, _answered(po)) for w, po in answers])
    return [answers[i] for i in chosen], 0, session.id


def _group(answers: list[Read]) -> list[FetchTopicOut]:
    """Consecutive partitions of one topic share a topic entry, in reply order."""
    topics: list[FetchTopicOut] = []
    for w, po in answers:
        if not topics or topics[-1].topic != w.topic:
            topics.append(FetchTopicOut(w.topic))
        topics[-1].partitions.append(po)
    return topics


def _failed_whole(ctx: RequestContext, request: Any) -> RawReply:
    """Kafka's answer to a fetch it cannot read at all (an unknown isolation level):
    UNKNOWN_SERVER_ERROR at the top and on every partition asked for."""
    topics = [
        FetchTopicOut(
            t.topic,
            [
                FetchPartitionOut(p.partition, UNKNOWN_SERVER_ERROR, aborted=())
                for p in t.partitions
            ],
        )
        for t in request.topics
    ]
    parts, total = encode_fetch_response(
        ctx.api_version, ctx.correlation_id, topics, error_code=UNKNOWN_SERVER_ERROR
    )
    return RawReply(parts, total)


@handles(ApiKey.FETCH, min_version=4, max_version=12)
async def fetch(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    if getattr(request, "isolation_level", 0) not in (0, READ_COMMITTED):
        return _failed_whole(ctx, request)
    plan = _plan(broker, ctx.api_version, request)
    if plan.error:
        parts, total = encode_fetch_response(
            ctx.api_version, ctx.correlation_id, [], error_code=plan.error
        )
        return RawReply(parts, total)
    max_wait_s = max(millis(request.max_wait), 0) / 1000.0
    deadline = time.monotonic() + max_wait_s
    # Kafka caps a fetch under consumer_byte_rate at what the quota window holds, so one
    # answer alone is never throttled, and min_bytes with it.
    window = broker.quotas.max_in_window(FETCH_QUOTA, ctx.user, ctx.client_id or "")
    cap = 2**31 - 1 if window is None else min(int(window), 2**31 - 1)
    min_bytes = min(request.min_bytes, cap)
    while True:
        answers, found, slices = _read_all(broker, ctx, request, _to_read(broker, plan), cap)
        left = deadline - time.monotonic()
        if (
            found >= min_bytes
            or left <= 0
            or not plan.wanted
            or broker.shutting_down
            # As Kafka's delayed fetch: a partition error (offline, out of range) is
            # answered at once, not after max_wait_ms.
            or any(po.error_code for _, po in answers)
        ):
            break
        _close(slices)
        keys = [(w.topic, w.partition) for w in plan.wanted]
        if not await broker.appends.wait_any(keys, left):
            answers, found, slices = _read_all(broker, ctx, request, _to_read(broker, plan), cap)
            break
    if ctx.timer is not None or broker.quotas.enforces(FETCH_QUOTA):
        throttled = _throttled(broker, ctx, plan, answers)
        if throttled is not None:
            _close(slices)
            return throttled
    sent, error, session_id = _reply(broker, plan, answers)
    if len(sent) != len(answers):
        kept = {id(po) for _, po in sent}
        _close([r for _, po in answers if id(po) not in kept for r in po.records])
    topics = _group(sent)
    _account(broker, topics)  # only what is sent counts as bytes out
    parts, total = encode_fetch_response(
        ctx.api_version, ctx.correlation_id, topics, error_code=error, session_id=session_id
    )
    return RawReply(parts, total)


def _throttled(
    broker: Broker, ctx: RequestContext, plan: FetchPlan, answers: list[Read]
) -> RawReply | None:
    """Kafka's consumer_byte_rate and request_percentage: the request's time and the
    answer's size are counted, and if either puts the client over its quota it gets an
    empty answer carrying the longer wait instead (the size taken back, the session left
    as it was) and its connection is muted meanwhile."""
    user, client = ctx.user, ctx.client_id or ""
    request_wait = request_quota.charge(broker, ctx)
    size = bandwidth_wait = 0
    if broker.quotas.enforces(FETCH_QUOTA):
        _, size = encode_fetch_response(ctx.api_version, ctx.correlation_id, _group(answers))
        bandwidth_wait = broker.quotas.record(FETCH_QUOTA, user, client, size)
    throttle = max(request_wait, bandwidth_wait)
    if throttle <= 0:
        return None
    if size:
        broker.quotas.unrecord(FETCH_QUOTA, user, client, size)
    key = FETCH_QUOTA if bandwidth_wait > request_wait else REQUEST_QUOTA
    broker.quotas.mute(ctx.connection, throttle, key)
    error, session_id = 0, 0
    if plan.session is not None:
        session_id = plan.session.id
        if plan.session.epoch != plan.expected_epoch:
            error = INVALID_FETCH_SESSION_EPOCH
    parts, total = encode_fetch_response(
        ctx.api_version,
        ctx.correlation_id,
        [],
        throttle_time_ms=throttle,
        error_code=error,
        session_id=session_id,
    )
    return RawReply(parts, total)


def _account(broker: Broker, topics: list[FetchTopicOut]) -> None:
    """Bytes sent per topic and partition errors, for metrics (per partition, not record)."""
    errors = broker.requests.errors_of(ApiKey.FETCH)
    for t in topics:
        size = 0
        for po in t.partitions:
            if po.records:
                size += sum(r.size for r in po.records)
            if po.error_code:
                errors[po.error_code] += 1
        if size:
            broker.traffic.fetched(t.topic, size)
