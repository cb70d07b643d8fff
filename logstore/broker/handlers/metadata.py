"""Metadata (key 3, v0–12): this one broker leads every partition, with stable topic ids.

Owns the topic/broker listing and auto-creation on Metadata. The answer is packed by
`logstore.protocol.metadata_reply` (all-topics requests cover thousands of partitions).
An offline partition (storage found it damaged) is shown as Kafka shows one: no leader
(-1), LEADER_NOT_AVAILABLE, this broker in its offline replicas; clients then route
keyless records to the other partitions instead of waiting on it. Those rare answers are
built with kio. Before v12 topics are named: a v10–11 request carrying a topic id or a
null name is refused whole, each topic INVALID_REQUEST and no broker, as Kafka's error
answer is. It must never report a leader epoch other than 0 nor a broker other than
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
from logstore.error_codes import INVALID_REQUEST, TOPIC_AUTHORIZATION_FAILED
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
    if not all_topics and ctx.api_version < 12 and any(map(_by_id, wanted)):
        return _invalid(ctx, wanted)
    allow_create = getattr(request, "allow_auto_topic_creation", True)
    topics: list[MetadataTopic] = []
    # As Kafka: topics refused are listed after the others (those refused Describe last),
    # and an all-topics request silently leaves out what the principal may not describe.
    refused_create: list[MetadataTopic] = []
    refused_describe: list[MetadataTopic] = []
    found: list[MetadataTopic] = []
    missing: list[str] = []
    if all_topics:
        topics = [
            _topic(broker, info)
            for info in broker.logs.topics()
            if _describable(broker, ctx, info.name)
        ]
    else:
        ids = list(dict.fromkeys(tid for item in wanted if (tid := _id_of(item)) is not None))
        if ids:
            # From v12 a request naming any topic id is by id alone: named entries are
            # left out, as Kafka leaves them.
            for tid in ids:
                info = broker.logs.topic_by_id(tid)
                if info is None:
                    topics.append((UNKNOWN_TOPIC_ID, None, tid, False, ()))
                elif not _describable(broker, ctx, info.name):
                    # Topic ids are not secret: Kafka names the id it refuses.
                    refused_describe.append((TOPIC_AUTHORIZATION_FAILED, None, tid, False, ()))
                else:
                    found.append(_topic(broker, info))
        else:
            names = list(dict.fromkeys(item.name for item in wanted))
            if None in names:
                names.remove(None)
                topics.append(_topic(broker, None, UNKNOWN_TOPIC_ID))
            for name in names:
                if not _describable(broker, ctx, name):
                    refused_describe.append(_topic(broker, None, TOPIC_AUTHORIZATION_FAILED, name))
                elif (info := broker.logs.topic(name)) is not None:
                    found.append(_topic(broker, info))
                elif (
                    allow_create
                    and broker.authorizer is not None
                    and broker.config.auto_create_topics
                    and not _may_create(broker, ctx, name)
                ):
                    refused_create.append(_topic(broker, None, TOPIC_AUTHORIZATION_FAILED, name))
                else:
                    missing.append(name)
        # Kafka lists unknown ids, then topics that exist, then those that did not
        # (auto-created now or not), then the refused ones.
        topics += found
        for name in missing:
            info, error = await find_or_create(broker, name, allow_create=allow_create)
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


def _id_of(item: Any) -> uuid.UUID | None:
    tid = getattr(item, "topic_id", None)
    return None if tid in (None, _ZERO_UUID) else tid


def _by_id(item: Any) -> bool:
    return item.name is None or _id_of(item) is not None


def _invalid(ctx: RequestContext, wanted: Any) -> Any:
    """Kafka's whole-request error answer: every topic as asked, INVALID_REQUEST, and no
    broker, cluster id or controller."""
    schema = ctx.schema
    return make(
        ctx.response_class,
        throttle_time=0,
        brokers=(),
        cluster_id=None,
        controller_id=-1,
        topics=tuple(
            make(
                schema.MetadataResponseTopic,
                error_code=INVALID_REQUEST,
                name=item.name or "",
                topic_id=getattr(item, "topic_id", None) or _ZERO_UUID,
                is_internal=False,
                topic_authorized_operations=access.NOT_REQUESTED,
                partitions=(),
            )
            for item in wanted
        ),
        cluster_authorized_operations=access.NOT_REQUESTED,
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
