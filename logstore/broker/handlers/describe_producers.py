"""DescribeProducers (key 61, v0): the producers with state on each asked partition.

Owns the mapping from the per-partition producer state (`ProducerManager.producers`) onto
Kafka's answer: id, epoch, last sequence and timestamp, coordinator epoch and the first
offset of the producer's open transaction (-1 when none), as `kafka-transactions.sh
describe-producers` shows them. It must never change producer state.
"""

from __future__ import annotations

from typing import Any

from logstore.broker import access
from logstore.broker.api import RequestContext, handles
from logstore.broker.build import make
from logstore.broker.context import Broker
from logstore.broker.errors import KAFKA_STORAGE_ERROR, UNKNOWN_TOPIC_OR_PARTITION, code_of
from logstore.protocol.api_keys import ApiKey
from logstore.security.acls import Operation


def _partition(broker: Broker, schema: Any, topic: str, index: int, refused: int) -> Any:
    def answer(code: int, producers: tuple[Any, ...] = ()) -> Any:
        return make(
            schema.PartitionResponse,
            partition_index=index,
            error_code=code,
            error_message=None,
            active_producers=producers,
        )

    if refused:
        return answer(refused)
    info = broker.logs.topic(topic)
    if info is None or not 0 <= index < info.partitions:
        return answer(UNKNOWN_TOPIC_OR_PARTITION)
    try:
        log = broker.logs.log(topic, index)
        if getattr(log, "recovery_error", None):
            return answer(KAFKA_STORAGE_ERROR)
        views = broker.producers.producers(log)
    except Exception as exc:
        return answer(code_of(exc))
    return answer(
        0,
        tuple(
            make(
                schema.ProducerState,
                producer_id=v.producer_id,
                producer_epoch=v.producer_epoch,
                last_sequence=v.last_sequence,
                last_timestamp=v.last_timestamp,
                coordinator_epoch=v.coordinator_epoch,
                current_txn_start_offset=v.current_txn_start_offset,
            )
            for v in views
        ),
    )


@handles(ApiKey.DESCRIBE_PRODUCERS, min_version=0, max_version=0)
async def describe_producers(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    schema = ctx.schema
    # As Kafka: READ on each topic, checked once per topic.
    refusals = {
        t.name: access.refusal(broker, ctx, Operation.READ, access.TOPIC, t.name)
        for t in request.topics
    }
    topics = tuple(
        make(
            schema.TopicResponse,
            name=t.name,
            partitions=tuple(
                _partition(broker, schema, t.name, index, refusals[t.name])
                for index in t.partition_indexes
            ),
        )
        for t in request.topics
    )
    return make(ctx.response_class, throttle_time=0, topics=topics)
