"""DescribeShareGroupOffsets (90, v0–1): each share-partition's start offset and lag, as the
Java admin client and `kafka-share-groups.sh --describe` ask for them.

Owns the translation from `logstore.shares.coordinator` state to the answer: SPSO as the
start offset (-1 where the group has no state for the partition), and the lag as the
records from SPSO to the log end not yet acknowledged or archived. It must never change
share state.
"""

from __future__ import annotations

from typing import Any

from logstore.broker.api import RequestContext, handles
from logstore.broker.build import make
from logstore.broker.context import Broker
from logstore.error_codes import GROUP_ID_NOT_FOUND
from logstore.protocol.api_keys import ApiKey
from logstore.shares.partition import ACKNOWLEDGED, ARCHIVED

UNKNOWN = -1


def _partition(schema: Any, broker: Broker, state: Any, info: Any, index: int) -> Any:
    part = state.partitions.get((info.topic_id, index)) if info is not None else None
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
        if state is None or not state.exists:
            groups.append(
                make(
                    schema.DescribeShareGroupOffsetsResponseGroup,
                    group_id=req_group.group_id,
                    topics=(),
                    error_code=GROUP_ID_NOT_FOUND,
                    error_message=f"Group {req_group.group_id} not found.",
                )
            )
            continue
        wanted: list[tuple[str, list[int]]] = []
        if req_group.topics is None:
            by_name: dict[str, list[int]] = {}
            for tid, index in sorted(state.partitions, key=str):
                info = broker.logs.topic_by_id(tid)
                if info is not None:
                    by_name.setdefault(info.name, []).append(index)
            wanted = sorted(by_name.items())
        else:
            wanted = [(t.topic_name, list(t.partitions)) for t in req_group.topics]
        topics = []
        for name, indexes in wanted:
            info = broker.logs.topic(name)
            topics.append(
                make(
                    schema.DescribeShareGroupOffsetsResponseTopic,
                    topic_name=name,
                    topic_id=info.topic_id if info is not None else None,
                    partitions=tuple(
                        _partition(schema, broker, state, info, i) for i in sorted(indexes)
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
