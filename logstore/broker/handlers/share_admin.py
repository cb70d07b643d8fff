"""DescribeShareGroupOffsets (90, v0–1): each share-partition's start offset and lag, as the
Java admin client and `kafka-share-groups.sh --describe` ask for them.

Owns the translation from `logstore.shares.coordinator` state to the answer: SPSO as the
start offset (-1 where the group has no state for the partition), and the lag as the
records from SPSO to the log end not yet acknowledged or archived. As in Kafka, a group the
client may not DESCRIBE is refused, a named topic it may not DESCRIBE is refused per
partition, and such topics are left out when all are asked for. A group with no share
state (one never used, or a consumer group's name) is no error: like OffsetFetch, it has
no offsets, so each named partition is answered -1 and "all topics" is none. It must
never change share state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from logstore.broker import access
from logstore.broker.api import RequestContext, handles
from logstore.broker.asked import partitions_once
from logstore.broker.build import make
from logstore.broker.context import Broker
from logstore.error_codes import (
    GROUP_AUTHORIZATION_FAILED,
    INVALID_GROUP_ID,
    TOPIC_AUTHORIZATION_FAILED,
)
from logstore.protocol.api_keys import ApiKey
from logstore.security.acls import Operation
from logstore.shares.partition import ACKNOWLEDGED, ARCHIVED

UNKNOWN = -1


def _partition(
    schema: Any, broker: Broker, held: Mapping[Any, Any], info: Any, index: int, denied: bool
) -> Any:
    part = held.get((info.topic_id, index)) if info is not None else None
    if denied:
        return make(
            schema.DescribeShareGroupOffsetsResponsePartition,
            partition_index=index,
            start_offset=UNKNOWN,
            leader_epoch=UNKNOWN,
            lag=UNKNOWN,
            error_code=TOPIC_AUTHORIZATION_FAILED,
            error_message="Topic authorization failed.",
        )
    start, lag = UNKNOWN, UNKNOWN
    if part is not None:
        start = part.spso
        end = broker.logs.log(info.name, index).log_end_offset
        counts = part.counts()
        lag = max(end - part.spso - counts[ACKNOWLEDGED] - counts[ARCHIVED], 0)
    return make(
        schema.DescribeShareGroupOffsetsResponsePartition,
        partition_index=index,
        start_offset=start,
        leader_epoch=0 if part is not None else UNKNOWN,
        lag=lag,
        error_code=0,
        error_message=None,
    )


@handles(ApiKey.DESCRIBE_SHARE_GROUP_OFFSETS, min_version=0, max_version=1)
async def describe_share_group_offsets(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    schema = ctx.schema
    shares = broker.shares
    groups = []
    for req_group in request.groups:
        state = shares.groups.get(req_group.group_id)
        refused: tuple[int, str] | None = None
        if access.refusal(broker, ctx, Operation.DESCRIBE, access.GROUP, req_group.group_id):
            refused = GROUP_AUTHORIZATION_FAILED, "Group authorization failed."
        elif not req_group.group_id:
            refused = INVALID_GROUP_ID, "The configured groupId is invalid."
        if refused is not None:
            groups.append(
                make(
                    schema.DescribeShareGroupOffsetsResponseGroup,
                    group_id=req_group.group_id,
                    topics=(),
                    error_code=refused[0],
                    error_message=refused[1],
                )
            )
            continue
        held = state.partitions if state is not None else {}
        wanted: list[tuple[str, list[int]]] = []
        if req_group.topics is None:
            by_name: dict[str, list[int]] = {}
            # Assigned share-partitions not fetched from yet are listed too, start unknown,
            # as Kafka lists the ones it has not initialized.
            every = set(held) | shares.assigned(req_group.group_id)
            for tid, index in sorted(every, key=str):
                info = broker.logs.topic_by_id(tid)
                if info is not None and access.allowed(
                    broker, ctx, Operation.DESCRIBE, access.TOPIC, info.name
                ):
                    by_name.setdefault(info.name, []).append(index)
            wanted = sorted(by_name.items())
        else:
            wanted = partitions_once((t.topic_name, t.partitions) for t in req_group.topics)
        topics = []
        for name, indexes in wanted:
            info = broker.logs.topic(name)
            denied = not access.allowed(broker, ctx, Operation.DESCRIBE, access.TOPIC, name)
            topics.append(
                make(
                    schema.DescribeShareGroupOffsetsResponseTopic,
                    topic_name=name,
                    topic_id=info.topic_id if info is not None else None,
                    partitions=tuple(
                        _partition(schema, broker, held, info, i, denied) for i in sorted(indexes)
                    ),
                )
            )
        groups.append(
            make(
                schema.DescribeShareGroupOffsetsResponseGroup,
                group_id=req_group.group_id,
                topics=tuple(topics),
                error_code=0,
                error_message=None,
            )
        )
    return make(ctx.response_class, throttle_time=0, groups=tuple(groups))
