"""DeleteRecords (key 21, v0–2): move a partition's log start offset forward.

Owns the request-to-storage mapping (offset -1 = up to the high watermark); internal
topics are refused (INVALID_TOPIC_EXCEPTION), as Kafka refuses them. It must never
delete files itself: storage decides when whole segments can go.
"""

from __future__ import annotations

from typing import Any

from logstore.broker import access
from logstore.broker.api import RequestContext, handles
from logstore.broker.asked import last_entries
from logstore.broker.build import make
from logstore.broker.context import Broker
from logstore.broker.errors import INVALID_TOPIC_EXCEPTION, UNKNOWN_TOPIC_OR_PARTITION, code_of
from logstore.protocol.api_keys import ApiKey
from logstore.security.acls import Operation


def _delete(broker: Broker, topic: str, partition: int, offset: int) -> tuple[int, int]:
    info = broker.logs.topic(topic)
    if info is None or not 0 <= partition < info.partitions:
        return UNKNOWN_TOPIC_OR_PARTITION, -1
    if info.internal:
        # As Kafka: a coordinator's records are not a client's to delete.
        return INVALID_TOPIC_EXCEPTION, -1
    try:
        return 0, broker.logs.log(topic, partition).delete_records(offset)
    except Exception as exc:
        return code_of(exc), -1


@handles(ApiKey.DELETE_RECORDS, min_version=0, max_version=2)
async def delete_records(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    schema = ctx.schema
    # A partition named twice is acted on and answered once, with its last offset: Kafka
    # keys the request by partition.
    asked = last_entries(
        (t.name, ((p.partition_index, p.offset) for p in t.partitions)) for t in request.topics
    )
    topics = []
    for name, offsets in asked.items():
        rows = []
        refused = access.refusal(broker, ctx, Operation.DELETE, access.TOPIC, name)
        for index, offset in offsets.items():
            error, low = refused, -1
            if not refused:
                error, low = _delete(broker, name, index, offset)
            rows.append(
                make(
                    schema.DeleteRecordsPartitionResult,
                    partition_index=index,
                    low_watermark=low,
                    error_code=error,
                )
            )
        topics.append(make(schema.DeleteRecordsTopicResult, name=name, partitions=tuple(rows)))
    return make(ctx.response_class, throttle_time=0, topics=tuple(topics))
