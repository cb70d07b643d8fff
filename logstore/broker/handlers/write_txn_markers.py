"""WriteTxnMarkers (key 27, v1–2): markers written to this broker's partitions on request.

Owns the mapping between kio's messages and `logstore.transactions.markers`: CLUSTER_ACTION
on the cluster when an authorizer is on, then per partition Kafka's codes (unknown
partition, storage error, the marker's producer or coordinator epoch older than the
partition's) or the marker appended. `kafka-transactions.sh abort` ends a hanging
transaction this way. It must never touch the transaction coordinator's state.
"""

from __future__ import annotations

from typing import Any

from logstore import error_codes as ec
from logstore.broker import access
from logstore.broker.api import RequestContext, handles
from logstore.broker.build import make
from logstore.broker.context import Broker
from logstore.broker.errors import code_of
from logstore.groups.offsets import OFFSETS_TOPIC
from logstore.protocol.api_keys import ApiKey
from logstore.security.acls import Operation
from logstore.transactions.markers import append_marker, marker_refusal


async def _one(broker: Broker, marker: Any, topic: str, partition: int) -> int:
    info = broker.logs.topic(topic)
    if info is None or not 0 <= partition < info.partitions:
        return ec.UNKNOWN_TOPIC_OR_PARTITION
    commit = bool(marker.transaction_result)
    try:
        if topic == OFFSETS_TOPIC:
            # The group coordinator ends its pending offsets with their markers.
            await broker.groups.complete_transaction(
                marker.producer_id,
                marker.producer_epoch,
                commit=commit,
                coordinator_epoch=marker.coordinator_epoch,
            )
            return ec.NONE
        plog = broker.logs.log(topic, partition)
        if getattr(plog, "recovery_error", None):
            return ec.KAFKA_STORAGE_ERROR
        refused = marker_refusal(
            broker.producers,
            plog,
            marker.producer_id,
            marker.producer_epoch,
            marker.coordinator_epoch,
        )
        if refused:
            return refused
        await append_marker(
            broker.logs,
            broker.producers,
            plog,
            marker.producer_id,
            marker.producer_epoch,
            commit=commit,
            coordinator_epoch=marker.coordinator_epoch,
            now_ms=broker.clock.now_ms(),
            notify=broker.appends.notify,
        )
    except Exception as exc:
        return code_of(exc)
    return ec.NONE


@handles(ApiKey.WRITE_TXN_MARKERS, min_version=1, max_version=2)
async def write_txn_markers(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    schema = ctx.schema
    refused = access.refusal(broker, ctx, Operation.CLUSTER_ACTION, access.CLUSTER)
    results = []
    for marker in request.markers:
        topics = []
        for topic in marker.topics:
            codes = [
                refused or await _one(broker, marker, topic.name, p)
                for p in topic.partition_indexes
            ]
            topics.append(
                make(
                    schema.WritableTxnMarkerTopicResult,
                    name=topic.name,
                    partitions=tuple(
                        make(
                            schema.WritableTxnMarkerPartitionResult,
                            partition_index=p,
                            error_code=c,
                        )
                        for p, c in zip(topic.partition_indexes, codes, strict=True)
                    ),
                )
            )
        results.append(
            make(
                schema.WritableTxnMarkerResult,
                producer_id=marker.producer_id,
                topics=tuple(topics),
            )
        )
    return make(ctx.response_class, markers=tuple(results))
