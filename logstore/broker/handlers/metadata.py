"""Metadata (key 3, v0–12): this one broker leads every partition, with stable topic ids.

Owns the topic/broker listing and auto-creation on Metadata. It must never report a
leader epoch other than 0 nor a broker other than itself.
"""

from __future__ import annotations

import uuid
from typing import Any

from logstore.broker.api import RequestContext, handles
from logstore.broker.build import has_field, make
from logstore.broker.context import Broker
from logstore.broker.errors import KAFKA_STORAGE_ERROR, UNKNOWN_TOPIC_ID
from logstore.broker.topics import find_or_create
from logstore.protocol.api_keys import ApiKey

_NO_OPS = -(2**31)  # "authorized operations not requested"
_ZERO_UUID = uuid.UUID(int=0)


def _partitions(broker: Broker, schema: Any, info: Any) -> tuple[Any, ...]:
    node = broker.config.node_id
    out = []
    for index in range(info.partitions):
        error = 0
        try:
            if getattr(broker.logs.log(info.name, index), "recovery_error", None):
                error = KAFKA_STORAGE_ERROR
        except Exception:
            error = KAFKA_STORAGE_ERROR
        out.append(
            make(
                schema.MetadataResponsePartition,
                error_code=error,
                partition_index=index,
                leader_id=node,
                leader_epoch=0,
                replica_nodes=(node,),
                isr_nodes=(node,),
                offline_replicas=(),
            )
        )
    return tuple(out)


def _topic(broker: Broker, schema: Any, info: Any, error: int = 0, name: str | None = None) -> Any:
    if info is None:
        return make(
            schema.MetadataResponseTopic,
            error_code=error,
            name=name,
            topic_id=_ZERO_UUID,
            is_internal=False,
            partitions=(),
            topic_authorized_operations=_NO_OPS,
        )
    return make(
        schema.MetadataResponseTopic,
        error_code=0,
        name=info.name,
        topic_id=info.topic_id,
        is_internal=info.internal,
        partitions=_partitions(broker, schema, info),
        topic_authorized_operations=_NO_OPS,
    )


@handles(ApiKey.METADATA, min_version=0, max_version=12)
async def metadata(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    schema = ctx.schema
    # v0: an empty list means "all topics"; v1+: null means all, empty means none.
    wanted = request.topics
    all_topics = wanted is None or (ctx.api_version == 0 and not wanted)
    allow_create = getattr(request, "allow_auto_topic_creation", True)
    topics: list[Any] = []
    if all_topics:
        topics = [_topic(broker, schema, info) for info in broker.logs.topics()]
    else:
        for item in wanted:
            name = item.name
            if name is None:
                topic_id = getattr(item, "topic_id", None)
                info = broker.logs.topic_by_id(topic_id) if topic_id else None
                if info is None:
                    topics.append(_topic(broker, schema, None, UNKNOWN_TOPIC_ID))
                else:
                    topics.append(_topic(broker, schema, info))
                continue
            info, error = find_or_create(broker, name, allow_create=allow_create)
            topics.append(_topic(broker, schema, info, error, name))
    brokers = (
        make(
            schema.MetadataResponseBroker,
            node_id=broker.config.node_id,
            host=broker.advertised_host,
            port=broker.advertised_port,
            rack=None,
        ),
    )
    fields: dict[str, Any] = dict(
        throttle_time=0,
        brokers=brokers,
        cluster_id=broker.config.cluster_id,
        controller_id=broker.config.node_id,
        topics=tuple(topics),
    )
    if has_field(ctx.response_class, "cluster_authorized_operations"):
        fields["cluster_authorized_operations"] = _NO_OPS
    return make(ctx.response_class, **fields)
