"""ReadShareGroupState (84, v0): a share-partition's persisted state, as Kafka's share
coordinator answers it — its start offset and every persisted span (first and last offset,
state: 0 available, 2 acknowledged, 4 archived, and delivery count).

Kafka's brokers send this to the share coordinator; an operator's tool may send it too,
with CLUSTER_ACTION on the cluster, and the console does so on this broker to show records
in flight by state (on Kafka it reads `__share_group_state` instead). Owns Kafka's answers:
every partition refused when CLUSTER_ACTION is missing; INVALID_REQUEST for a negative
partition; UNKNOWN_TOPIC_OR_PARTITION for a topic or partition that does not exist; a
start offset of -1 and no spans for a share-partition that has no state yet. It only reads
(a leader epoch is accepted and ignored: a single node has no other leader to fence) and
must never change share state.
"""

from __future__ import annotations

from typing import Any

from logstore.broker import access
from logstore.broker.api import RequestContext, handles
from logstore.broker.build import make
from logstore.broker.context import Broker
from logstore.error_codes import INVALID_REQUEST, UNKNOWN_TOPIC_OR_PARTITION
from logstore.protocol.api_keys import ApiKey
from logstore.security.acls import Operation

# Kafka's messages for these answers.
NEGATIVE_PARTITION = "The partition id cannot be a negative number."
UNKNOWN = "This server does not host this topic-partition."
CLUSTER_DENIED = "Cluster authorization failed."


@handles(ApiKey.READ_SHARE_GROUP_STATE, min_version=0, max_version=0)
async def read_share_group_state(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    schema = ctx.schema
    refused = access.refusal(broker, ctx, Operation.CLUSTER_ACTION, access.CLUSTER)

    def partition(topic_id: Any, p: Any) -> Any:
        def error(code: int, message: str) -> Any:
            return make(
                schema.PartitionResult, partition=p.partition, error_code=code,
                error_message=message, state_epoch=0, start_offset=-1, state_batches=(),
            )  # fmt: skip

        if refused:
            return error(refused, CLUSTER_DENIED)
        if p.partition < 0:
            return error(INVALID_REQUEST, NEGATIVE_PARTITION)
        info = broker.logs.topic_by_id(topic_id)
        if info is None or p.partition >= info.partitions:
            return error(UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN)
        found = broker.shares.persisted(request.group_id, (topic_id, p.partition))
        start, spans = found if found is not None else (-1, [])
        batches = tuple(
            make(
                schema.StateBatch,
                first_offset=first,
                last_offset=last,
                delivery_state=state,
                delivery_count=count,
            )
            for first, last, state, count in spans
        )
        return make(
            schema.PartitionResult, partition=p.partition, error_code=0, error_message=None,
            state_epoch=0, start_offset=start, state_batches=batches,
        )  # fmt: skip

    results = tuple(
        make(
            schema.ReadStateResult,
            topic_id=t.topic_id,
            partitions=tuple(partition(t.topic_id, p) for p in t.partitions),
        )
        for t in request.topics
    )
    return make(ctx.response_class, results=results)
