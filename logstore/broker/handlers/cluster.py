"""DescribeCluster (v0–1), DescribeLogDirs (v1–4), OffsetForLeaderEpoch (v2–4).

Owns the single-node answers: one broker that is also the controller, one log dir with the
real partition sizes, and leader epoch 0 everywhere. It must never invent replicas.
DescribeLogDirs is packed by `logstore.protocol.admin_replies`: a console asks it about
every partition at once, and kio objects per partition cost more than the sizes.
"""

from __future__ import annotations

import shutil
from typing import Any

from logstore.broker import access
from logstore.broker.api import RequestContext, handles
from logstore.broker.asked import partitions_once
from logstore.broker.build import make
from logstore.broker.context import Broker
from logstore.broker.errors import KAFKA_STORAGE_ERROR, UNKNOWN_TOPIC_OR_PARTITION, code_of
from logstore.broker.leader_epoch import NO_EPOCH, epoch_error
from logstore.protocol.admin_replies import LogDirRow, describe_log_dirs_frame
from logstore.protocol.api_keys import ApiKey
from logstore.security.acls import Operation

_NO_OPS = -(2**31)


@handles(ApiKey.DESCRIBE_CLUSTER, min_version=0, max_version=1)
async def describe_cluster(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    schema = ctx.schema
    host, port = broker.address(ctx.listener)
    node = make(
        schema.DescribeClusterBroker,
        broker_id=broker.config.node_id,
        host=host,
        port=port,
        rack=None,
    )
    return make(
        ctx.response_class,
        throttle_time=0,
        error_code=0,
        error_message=None,
        endpoint_type=getattr(request, "endpoint_type", 1),
        cluster_id=broker.config.cluster_id,
        controller_id=broker.config.node_id,
        brokers=(node,),
        cluster_authorized_operations=(
            access.authorized_operations(broker, ctx, access.CLUSTER)
            if broker.authorizer is not None
            and getattr(request, "include_cluster_authorized_operations", False)
            else _NO_OPS
        ),
    )


@handles(ApiKey.DESCRIBE_LOG_DIRS, min_version=1, max_version=4)
async def describe_log_dirs(broker: Broker, ctx: RequestContext, request: Any) -> bytes:
    usage = shutil.disk_usage(broker.config.data_dir)
    refused = access.refusal(broker, ctx, Operation.DESCRIBE, access.CLUSTER)
    if refused:
        return describe_log_dirs_frame(
            ctx.api_version, ctx.correlation_id, "", [], usage.total, usage.free, refused
        )
    if request.topics is None:
        wanted = [(t.name, list(range(t.partitions))) for t in broker.logs.topics()]
    else:
        wanted = partitions_once((t.topic, t.partitions) for t in request.topics)
    topics: list[tuple[str, list[LogDirRow]]] = []
    for name, partitions in wanted:
        info = broker.logs.topic(name)
        if info is None:
            continue  # Kafka omits partitions this dir does not hold
        rows = [
            (index, broker.logs.log(name, index).size_bytes)
            for index in partitions
            if 0 <= index < info.partitions
        ]
        topics.append((name, rows))
    return describe_log_dirs_frame(
        ctx.api_version,
        ctx.correlation_id,
        str(broker.config.data_dir.resolve()),
        topics,
        usage.total,
        usage.free,
    )


def _epoch_end(broker: Broker, topic: str, p: Any) -> tuple[int, int, int]:
    info = broker.logs.topic(topic)
    if info is None or not 0 <= p.partition < info.partitions:
        return UNKNOWN_TOPIC_OR_PARTITION, -1, -1
    refused = epoch_error(getattr(p, "current_leader_epoch", NO_EPOCH))
    if refused:
        return refused, -1, -1
    try:
        log = broker.logs.log(topic, p.partition)
    except Exception as exc:
        return code_of(exc), -1, -1
    if getattr(log, "recovery_error", None):
        return KAFKA_STORAGE_ERROR, -1, -1
    if p.leader_epoch == 0:
        return 0, 0, log.log_end_offset
    return 0, -1, -1  # an epoch we never had: UNDEFINED_EPOCH_OFFSET, as Kafka answers


@handles(ApiKey.OFFSET_FOR_LEADER_EPOCH, min_version=2, max_version=4)
async def offset_for_leader_epoch(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    schema = ctx.schema
    topics = []
    for t in request.topics:
        rows = []
        for p in t.partitions:
            error, epoch, end = _epoch_end(broker, t.topic, p)
            rows.append(
                make(
                    schema.EpochEndOffset,
                    error_code=error,
                    partition=p.partition,
                    leader_epoch=epoch,
                    end_offset=end,
                )
            )
        topics.append(
            make(schema.OffsetForLeaderTopicResult, topic=t.topic, partitions=tuple(rows))
        )
    return make(ctx.response_class, throttle_time=0, topics=tuple(topics))
