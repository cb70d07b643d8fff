"""DescribeTopicPartitions (key 75, v0): topics and partitions page by page, as the Java
AdminClient (Kafka 3.8+, e.g. `kafka-topics --describe`) asks for them.

Owns the paging rules Kafka applies: topics in name order from the cursor's topic (an
empty list means every topic), partitions from the cursor's partition index, at most
`response_partition_limit` partitions (capped at Kafka's max.request.partition.size.limit,
2000) per answer, and `next_cursor` pointing at the first partition left out. Unknown
names answer UNKNOWN_TOPIC_OR_PARTITION (3), invalid ones INVALID_TOPIC_EXCEPTION (17);
a cursor whose topic is not in the requested list is INVALID_REQUEST (42) for every topic.
This one broker leads every partition with epoch 0, and with a single replica no
eligible leader replicas exist (empty lists, not null). It must never create topics.
"""

from __future__ import annotations

import uuid
from typing import Any

from logstore.broker import access
from logstore.broker.api import RequestContext, handles
from logstore.broker.build import make
from logstore.broker.context import Broker
from logstore.broker.errors import INVALID_REQUEST, UNKNOWN_TOPIC_OR_PARTITION, code_of
from logstore.broker.handlers.metadata import _partition_errors
from logstore.protocol.api_keys import ApiKey
from logstore.security.acls import Operation
from logstore.storage import validate_topic_name

# Kafka's max.request.partition.size.limit default.
MAX_PARTITIONS_PER_RESPONSE = 2000
# Topic authorized operations with no authorizer: every operation a topic supports
# (READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS).
TOPIC_OPERATIONS = sum(1 << op for op in (3, 4, 5, 6, 7, 8, 10, 11))
_ZERO_UUID = uuid.UUID(int=0)


def _missing(schema: Any, name: str) -> Any:
    try:
        validate_topic_name(name)
        error = UNKNOWN_TOPIC_OR_PARTITION
    except Exception as exc:
        error = code_of(exc)
    return make(
        schema.DescribeTopicPartitionsResponseTopic,
        error_code=error,
        name=name,
        topic_id=_ZERO_UUID,
        is_internal=name.startswith("__"),
        partitions=(),
        topic_authorized_operations=TOPIC_OPERATIONS,
    )


def _partitions(broker: Broker, schema: Any, info: Any, first: int, count: int) -> tuple[Any, ...]:
    node = broker.config.node_id
    errors = _partition_errors(broker, info)
    return tuple(
        make(
            schema.DescribeTopicPartitionsResponsePartition,
            error_code=errors[index],
            partition_index=index,
            leader_id=node,
            leader_epoch=0,
            replica_nodes=(node,),
            isr_nodes=(node,) if errors[index] == 0 else (),
            eligible_leader_replicas=(),
            last_known_elr=(),
            offline_replicas=(node,) if errors[index] else (),
        )
        for index in range(first, min(first + count, info.partitions))
    )


@handles(ApiKey.DESCRIBE_TOPIC_PARTITIONS, min_version=0, max_version=0)
async def describe_topic_partitions(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    schema = ctx.schema
    cursor = request.cursor
    start_topic = cursor.topic_name if cursor is not None else ""
    every_topic = not request.topics
    if every_topic:
        names = sorted(
            info.name
            for info in broker.logs.topics()
            if info.name >= start_topic
            and access.allowed(broker, ctx, Operation.DESCRIBE, access.TOPIC, info.name)
        )
    else:
        names = sorted({t.name for t in request.topics if t.name >= start_topic})
    if cursor is not None and (
        cursor.partition_index < 0 or (not every_topic and cursor.topic_name not in names)
    ):
        # Kafka refuses the request: every requested topic carries the error.
        refused = tuple(
            make(
                schema.DescribeTopicPartitionsResponseTopic,
                error_code=INVALID_REQUEST,
                name=t.name,
                topic_id=_ZERO_UUID,
                is_internal=False,
                partitions=(),
            )
            for t in request.topics
        )
        return make(ctx.response_class, throttle_time=0, topics=refused, next_cursor=None)
    remaining = min(MAX_PARTITIONS_PER_RESPONSE, request.response_partition_limit)
    topics: list[Any] = []
    next_cursor = None
    for name in names:
        if remaining <= 0:
            if remaining == 0:
                next_cursor = make(schema.Cursor, topic_name=name, partition_index=0)
            break
        denied = access.refusal(broker, ctx, Operation.DESCRIBE, access.TOPIC, name)
        if denied:
            topics.append(
                make(
                    schema.DescribeTopicPartitionsResponseTopic,
                    error_code=denied,
                    name=name,
                    topic_id=_ZERO_UUID,
                    is_internal=False,
                    partitions=(),
                )
            )
            continue
        info = broker.logs.topic(name)
        if info is None:
            if not every_topic:
                topics.append(_missing(schema, name))
            continue
        first = cursor.partition_index if cursor is not None and name == start_topic else 0
        partitions = _partitions(broker, schema, info, first, remaining)
        topics.append(
            make(
                schema.DescribeTopicPartitionsResponseTopic,
                error_code=0,
                name=name,
                topic_id=info.topic_id,
                is_internal=info.internal,
                partitions=partitions,
                topic_authorized_operations=(
                    TOPIC_OPERATIONS
                    if broker.authorizer is None
                    else access.authorized_operations(broker, ctx, access.TOPIC, name)
                ),
            )
        )
        following = first + len(partitions)
        if following < info.partitions:
            next_cursor = make(schema.Cursor, topic_name=name, partition_index=following)
            break
        remaining -= len(partitions)
    return make(ctx.response_class, throttle_time=0, topics=tuple(topics), next_cursor=next_cursor)
