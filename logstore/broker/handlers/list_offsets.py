"""ListOffsets (key 2, v1–7): earliest, latest, by timestamp, max timestamp.

Owns the meaning of the special timestamps (-2 earliest, -1 latest, -3 max timestamp) and
of isolation levels: read_committed sees the log up to the last stable offset only. As in
Kafka, a partition asked for twice is answered once, INVALID_REQUEST, and a special
timestamp the version lacks UNSUPPORTED_VERSION. It must never scan records: storage
answers timestamps from its time index. The answer is packed by
`logstore.protocol.admin_replies` (a console asks about thousands of partitions at once;
building kio objects for them cost more than the lookups).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from logstore.broker import access
from logstore.broker.api import RequestContext, handles
from logstore.broker.asked import last_entries
from logstore.broker.context import Broker
from logstore.broker.errors import (
    INVALID_REQUEST,
    KAFKA_STORAGE_ERROR,
    UNKNOWN_SERVER_ERROR,
    UNKNOWN_TOPIC_OR_PARTITION,
    UNSUPPORTED_VERSION,
    code_of,
)
from logstore.broker.leader_epoch import NO_EPOCH, epoch_error
from logstore.protocol.admin_replies import ListOffsetsRow, list_offsets_frame
from logstore.protocol.api_keys import ApiKey
from logstore.security.acls import Operation

LATEST = -1
EARLIEST = -2
MAX_TIMESTAMP = -3
READ_COMMITTED = 1
FIRST_MAX_TIMESTAMP_VERSION = 7  # KIP-734: older versions answer -3 as unsupported


def _lookup(broker: Broker, topic: str, p: Any, committed: bool) -> tuple[int, int, int]:
    """(error, offset, timestamp) for one partition."""
    info = broker.logs.topic(topic)
    partition, ts = p.partition_index, p.timestamp
    if info is None or not 0 <= partition < info.partitions:
        return UNKNOWN_TOPIC_OR_PARTITION, -1, -1
    refused = epoch_error(getattr(p, "current_leader_epoch", NO_EPOCH))
    if refused:
        return refused, -1, -1
    try:
        log = broker.logs.log(topic, partition)
        if getattr(log, "recovery_error", None):
            return KAFKA_STORAGE_ERROR, -1, -1
        if ts == EARLIEST:
            return 0, log.log_start_offset, -1
        fetchable = broker.producers.last_stable_offset(log) if committed else log.log_end_offset
        if ts == LATEST:
            return 0, fetchable, -1
        found = log.max_timestamp() if ts == MAX_TIMESTAMP else log.offset_for_timestamp(ts)
    except Exception as exc:
        return code_of(exc), -1, -1
    # As Kafka: an answer a consumer of this isolation level could not read is no answer.
    if found is None or found[0] >= fetchable:
        return 0, -1, -1
    return 0, found[0], found[1]


@handles(ApiKey.LIST_OFFSETS, min_version=1, max_version=7)
async def list_offsets(broker: Broker, ctx: RequestContext, request: Any) -> bytes:
    isolation = getattr(request, "isolation_level", 0)
    committed = isolation == READ_COMMITTED
    # A partition asked for twice is answered once, INVALID_REQUEST, as Kafka answers it.
    asked = last_entries(
        (t.name, ((p.partition_index, p) for p in t.partitions)) for t in request.topics
    )
    named = Counter((t.name, p.partition_index) for t in request.topics for p in t.partitions)
    twice = {key for key, times in named.items() if times > 1}
    topics: list[tuple[str, list[ListOffsetsRow]]] = []
    for name, wanted in asked.items():
        rows: list[ListOffsetsRow] = []
        refused = access.refusal(broker, ctx, Operation.DESCRIBE, access.TOPIC, name)
        for p in wanted.values():
            if refused:
                rows.append((p.partition_index, refused, -1, -1, -1))
                continue
            if (name, p.partition_index) in twice:
                rows.append((p.partition_index, INVALID_REQUEST, -1, -1, -1))
                continue
            if isolation not in (0, READ_COMMITTED):
                # Kafka fails each partition of a request with an unknown isolation level.
                rows.append((p.partition_index, UNKNOWN_SERVER_ERROR, -1, -1, -1))
                continue
            oldest = MAX_TIMESTAMP if ctx.api_version >= FIRST_MAX_TIMESTAMP_VERSION else EARLIEST
            if p.timestamp < oldest:
                # A special timestamp this version lacks (-3 before v7, -4 and -5 of
                # tiered storage before v8 and v9) or none at all.
                rows.append((p.partition_index, UNSUPPORTED_VERSION, -1, -1, -1))
                continue
            error, offset, timestamp = _lookup(broker, name, p, committed)
            epoch = 0 if error == 0 and offset >= 0 else -1
            rows.append((p.partition_index, error, timestamp, offset, epoch))
        topics.append((name, rows))
    return list_offsets_frame(ctx.api_version, ctx.correlation_id, topics)
