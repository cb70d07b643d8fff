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

from logstore.broker import access
from logstore.broker.api import RequestContext, handles
from logstore.broker.build import make
from logstore.broker.context import Broker
from logstore.broker.errors import LEADER_NOT_AVAILABLE, UNKNOWN_TOPIC_ID
from logstore.broker.topics import find_or_create
from logstore.error_codes import TOPIC_AUTHORIZATION_FAILED
from logstore.protocol.api_keys import ApiKey
from logstore.protocol.metadata_reply import MetadataTopic, metadata_frame
from logstore.security.acls import Operation

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


def _may_create(broker: Broker, ctx: RequestContext, name: str) -> bool:
    return access.allowed(broker, ctx, Operation.CREATE, access.CLUSTER) or access.allowed(
        broker, ctx, Operation.CREATE, access.TOPIC, name
    )


def _describable(broker: Broker, ctx: RequestContext, name: str) -> bool:
    return access.allowed(broker, ctx, Operation.DESCRIBE, access.TOPIC, name)


@handles(ApiKey.METADATA, min_version=0, max_version=12)
async def metadata(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    # v0: an empty list means "all topics"; v1+: null means all, empty means none.
    wanted = request.topics
    all_topics = wanted is None or (ctx.api_version == 0 and not wanted)
    allow_create = getattr(request, "allow_auto_topic_creation", True)
    topics: list[MetadataTopic] = []
    # As Kafka: topics refused are listed after the others (those refused Describe last),
    # and an all-topics request silently leaves out what the principal may not describe.
    refused_create: list[MetadataTopic] = []
    refused_describe: list[MetadataTopic] = []
    if all_topics:
        topics = [
            _topic(broker, info)
            for info in broker.logs.topics()
            if _describable(broker, ctx, info.name)
        ]
    else:
        for item in wanted:
            name = item.name
            if name is None:
                topic_id = getattr(item, "topic_id", None)
                info = broker.logs.topic_by_id(topic_id) if topic_id else None
                if info is None:
                    topics.append(_topic(broker, None, UNKNOWN_TOPIC_ID))
                elif not _describable(broker, ctx, info.name):
                    refused_describe.append(_topic(broker, None, TOPIC_AUTHORIZATION_FAILED))
                else:
                    topics.append(_topic(broker, info))
                continue
            if not _describable(broker, ctx, name):
                refused_describe.append(_topic(broker, None, TOPIC_AUTHORIZATION_FAILED, name))
                continue
            create = allow_create
            if (
                create
                and broker.authorizer is not None
                and broker.logs.topic(name) is None
                and broker.config.auto_create_topics
                and not _may_create(broker, ctx, name)
            ):
                refused_create.append(_topic(broker, None, TOPIC_AUTHORIZATION_FAILED, name))
                continue
            info, error = await find_or_create(broker, name, allow_create=create)
            topics.append(_topic(broker, info, error, name))
    topics += refused_create + refused_describe
    if broker.authorizer is not None and (
        getattr(request, "include_topic_authorized_operations", False)
        or getattr(request, "include_cluster_authorized_operations", False)
    ):
        return _with_kio(broker, ctx, topics, request)
    if any(any(errors) for *_, errors in topics):
        return _with_kio(broker, ctx, topics)
    host, port = broker.address(ctx.listener)
    return metadata_frame(
        ctx.api_version,
        ctx.correlation_id,
        node_id=broker.config.node_id,
        host=host,
        port=port,
        cluster_id=broker.config.cluster_id,
        topics=topics,
    )


def _with_kio(
    broker: Broker, ctx: RequestContext, topics: list[MetadataTopic], request: Any = None
) -> Any:
    """The answer built with kio: for offline partitions and authorized-operations fields."""
    node = broker.config.node_id
    schema = ctx.schema
    no_ops = access.NOT_REQUESTED

    def topic_ops(error: int, name: str | None) -> int:
        if error or name is None or not getattr(request, "include_topic_authorized_operations", 0):
            return no_ops
        return access.authorized_operations(broker, ctx, access.TOPIC, name)

    host, port = broker.address(ctx.listener)
    cluster_ops = no_ops
    if getattr(request, "include_cluster_authorized_operations", False):
        cluster_ops = access.authorized_operations(broker, ctx, access.CLUSTER)
    return make(
        ctx.response_class,
        throttle_time=0,
        brokers=(
            make(
                schema.MetadataResponseBroker,
                node_id=node,
                host=host,
                port=port,
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
                topic_authorized_operations=topic_ops(error, name),
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
        cluster_authorized_operations=cluster_ops,
    )
