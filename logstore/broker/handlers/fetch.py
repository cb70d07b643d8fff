"""Fetch (key 1, v4–12): stored bytes out, with long polling woken by appends.

Owns the fetch rules: per-partition and per-response byte limits (the first batch is
always returned whole, KIP-74), offset-out-of-range answers, `max_wait_ms`/`min_bytes`
long polling, no fetch sessions (we always answer session 0, so clients send full
requests). Records are never decoded: the reply carries storage's read slices, which the
server sends from the segment file. It must never read or copy record bytes itself.
"""

from __future__ import annotations

import time
from typing import Any

from logstore.broker.api import RawReply, RequestContext, handles
from logstore.broker.build import millis
from logstore.broker.context import Broker
from logstore.broker.errors import (
    FETCH_SESSION_ID_NOT_FOUND,
    KAFKA_STORAGE_ERROR,
    UNKNOWN_TOPIC_OR_PARTITION,
    code_of,
)
from logstore.protocol.api_keys import ApiKey
from logstore.protocol.fetch_response import (
    FetchPartitionOut,
    FetchTopicOut,
    encode_fetch_response,
)

READ_COMMITTED = 1


def _close(slices: list[Any]) -> None:
    for s in slices:
        close = getattr(s, "close", None)
        if close is not None:
            close()


def _read_all(broker: Broker, request: Any) -> tuple[list[FetchTopicOut], int, list[Any]]:
    """One pass over the requested partitions: (topics, bytes found, slices to release)."""
    remaining = request.max_bytes if request.max_bytes > 0 else 2**31 - 1
    committed = getattr(request, "isolation_level", 0) == READ_COMMITTED
    found = 0
    slices: list[Any] = []
    topics: list[FetchTopicOut] = []
    for t in request.topics:
        out = FetchTopicOut(t.topic)
        topics.append(out)
        info = broker.logs.topic(t.topic)
        for p in t.partitions:
            po = FetchPartitionOut(p.partition, aborted=() if committed else None)
            out.partitions.append(po)
            if info is None or not 0 <= p.partition < info.partitions:
                po.error_code = UNKNOWN_TOPIC_OR_PARTITION
                continue
            try:
                log = broker.logs.log(t.topic, p.partition)
            except Exception as exc:
                po.error_code = code_of(exc)
                continue
            if getattr(log, "recovery_error", None):
                po.error_code = KAFKA_STORAGE_ERROR
                continue
            po.high_watermark = po.last_stable_offset = log.log_end_offset
            po.log_start_offset = log.log_start_offset
            # KIP-74: each partition gets at most what the response has left; storage still
            # returns one whole batch to the first partition with data, however large.
            limit = max(min(p.partition_max_bytes, remaining), 0)
            if (found and limit == 0) or p.fetch_offset == log.log_end_offset:
                continue
            try:
                piece = log.read(p.fetch_offset, limit)
            except Exception as exc:
                # Like Kafka, an errored partition carries no offsets: librdkafka would
                # take a log start offset >= 0 here as the place to reset to.
                po.error_code = code_of(exc)
                po.high_watermark = po.last_stable_offset = po.log_start_offset = -1
                continue
            if found and piece.size > limit:
                # Storage always returns at least one batch; only the first partition with
                # data may exceed the limits that way (KIP-74), later ones come back empty.
                piece.close()
                continue
            if piece.size:
                po.records = (piece,)
                slices.append(piece)
                found += piece.size
                remaining -= piece.size
    return topics, found, slices


@handles(ApiKey.FETCH, min_version=4, max_version=12)
async def fetch(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    if getattr(request, "session_id", 0) != 0:
        parts, total = encode_fetch_response(
            ctx.api_version, ctx.correlation_id, [], error_code=FETCH_SESSION_ID_NOT_FOUND
        )
        return RawReply(parts, total)
    max_wait_s = max(millis(request.max_wait), 0) / 1000.0
    deadline = time.monotonic() + max_wait_s
    keys = [(t.topic, p.partition) for t in request.topics for p in t.partitions]
    while True:
        topics, found, slices = _read_all(broker, request)
        left = deadline - time.monotonic()
        if (
            found >= request.min_bytes
            or left <= 0
            or not keys
            or broker.shutting_down
            # As Kafka's delayed fetch: a partition error (offline, out of range) is
            # answered at once, not after max_wait_ms.
            or any(po.error_code for t in topics for po in t.partitions)
        ):
            break
        _close(slices)
        if not await broker.appends.wait_any(keys, left):
            topics, found, slices = _read_all(broker, request)
            break
    _account(broker, topics)
    parts, total = encode_fetch_response(ctx.api_version, ctx.correlation_id, topics)
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
