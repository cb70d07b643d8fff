"""Metadata (key 3, v0–12): this one broker leads every partition, with stable topic ids.

Owns the topic/broker listing and auto-creation on Metadata. The answer is packed by
`logstore.protocol.metadata_reply` (all-topics requests cover thousands of partitions).
An offline partition (storage found it damaged) is shown as Kafka shows one: no leader
(-1), LEADER_NOT_AVAILABLE, this broker in its offline replicas; clients then route
keyless records to the other partitions instead of waiting on it. Those rare answers are
built with kio. It must never report a leader epoch other than 0 nor a broker other than
itself.
"""

from __future__ import annotations

import uuid
from typing import Any

from logstore.broker.api import RequestContext, handles
from logstore.broker.build import make
from logstore.broker.context import Broker
from logstore.broker.errors import LEADER_NOT_AVAILABLE, UNKNOWN_TOPIC_ID
from logstore.broker.topics import find_or_create
from logstore.protocol.api_keys import ApiKey
from logstore.protocol.metadata_reply import MetadataTopic, metadata_frame

_ZERO_UUID = uuid.UUID(int=0)


def _partition_errors(broker: Broker, info: Any) -> list[int]:
    errors = [0] * info.partitions
    for index in range(info.partitions):
        try:
            if broker.logs.log(info.name, index).recovery_error:
                errors[index] = LEADER_NOT_AVAILABLE
        except Exception:
            errors[index] = LEADER_NOT_AVAILABLE
    return errors


def _topic(broker: Broker, info: Any, error: int = 0, name: str | None = None) -> MetadataTopic:
    if info is None:
        return (error, name, _ZERO_UUID, False, ())
    return (0, info.name, info.topic_id, info.internal, _partition_errors(broker, info))


@handles(ApiKey.METADATA, min_version=0, max_version=12)
async def metadata(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    # v0: an empty list means "all topics"; v1+: null means all, empty means none.
    wanted = request.topics
    all_topics = wanted is None or (ctx.api_version == 0 and not wanted)
    allow_create = getattr(request, "allow_auto_topic_creation", True)
    topics: list[MetadataTopic] = []
    if all_topics:
        topics = [_topic(broker, info) for info in broker.logs.topics()]
    else:
        for item in wanted:
            name = item.name
            if name is None:
                topic_id = getattr(item, "topic_id", None)
                info = broker.logs.topic_by_id(topic_id) if topic_id else None
                if info is None:
                    topics.append(_topic(broker, None, UNKNOWN_TOPIC_ID))
                else:
                    topics.append(_topic(broker, info))
                continue
            info, error = find_or_create(broker, name, allow_create=allow_create)
            topics.append(_topic(broker, info, error, name))
    if any(any(errors) for *_, errors in topics):
        return _with_offline_partitions(broker, ctx, topics)
    return metadata_frame(
        ctx.api_version,
        ctx.correlation_id,
        node_id=broker.config.node_id,
        host=broker.advertised_host,
        port=broker.advertised_port,
        cluster_id=broker.config.cluster_id,
        topics=topics,
    )


def _with_offline_partitions(
    broker: Broker, ctx: RequestContext, topics: list[MetadataTopic]
) -> Any:
    node = broker.config.node_id
    schema = ctx.schema
    no_ops = -(2**31)
    return make(
        ctx.response_class,
        throttle_time=0,
        brokers=(
            make(
                schema.MetadataResponseBroker,
                node_id=node,
                host=broker.advertised_host,
                port=broker.advertised_port,
                rack=None,
            ),
        ),
        cluster_id=broker.config.cluster_id,
        controller_id=node,
        topics=tuple(
            make(
                schema.MetadataResponseTopic,
                error_code=error,
                name=name,
                topic_id=topic_id,
                is_internal=internal,
                topic_authorized_operations=no_ops,
                partitions=tuple(
                    make(
                        schema.MetadataResponsePartition,
                        error_code=e,
                        partition_index=i,
                        leader_id=-1 if e else node,
                        leader_epoch=0,
                        replica_nodes=(node,),
                        isr_nodes=(node,),
                        offline_replicas=(node,) if e else (),
                    )
                    for i, e in enumerate(errors)
                ),
            )
            for error, name, topic_id, internal, errors in topics
        ),
        cluster_authorized_operations=no_ops,
    )
