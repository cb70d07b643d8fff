"""The console's share-group messages (`console.kafka.share_wire`) are byte for byte Kafka's:
each request the console encodes is what kio (generated from Kafka's own JSON schemas)
encodes for the same fields, and each answer kio encodes reads back field by field, at
every version the console sends."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from kio.schema.alter_share_group_offsets.v0 import request as alter_req
from kio.schema.alter_share_group_offsets.v0 import response as alter_resp
from kio.schema.delete_share_group_offsets.v0 import request as delete_req
from kio.schema.delete_share_group_offsets.v0 import response as delete_resp
from kio.schema.describe_share_group_offsets.v0 import response as offsets_resp_v0
from kio.schema.describe_share_group_offsets.v1 import request as offsets_req
from kio.schema.describe_share_group_offsets.v1 import response as offsets_resp_v1
from kio.schema.errors import ErrorCode
from kio.schema.share_group_describe.v1 import request as describe_req
from kio.schema.share_group_describe.v1 import response as describe_resp
from kio.static.primitive import i32, i32Timedelta, i64

from console.kafka import share_wire as w
from tests.differential.wire import encode

TOPIC_ID = uuid.UUID("8f6f519c-63da-4d0e-8a2f-b9dbd720fe33")
NO_ERROR = ErrorCode(0)
NO_THROTTLE = i32Timedelta.parse(datetime.timedelta(0))


def test_share_group_describe_request_and_response() -> None:
    ours = w.ShareGroupDescribeRequest(group_ids=["a/b", "ü"], include_authorized_operations=True)
    kio = describe_req.ShareGroupDescribeRequest(
        group_ids=("a/b", "ü"),
        include_authorized_operations=True,
    )
    assert ours.encode(version=1) == encode(kio)

    answer = describe_resp.ShareGroupDescribeResponse(
        throttle_time=NO_THROTTLE,
        groups=(
            describe_resp.DescribedGroup(
                error_code=NO_ERROR,
                error_message=None,
                group_id="g",
                group_state="Stable",
                group_epoch=i32(3),
                assignment_epoch=i32(3),
                assignor_name="simple",
                members=(
                    describe_resp.Member(
                        member_id="m1",
                        rack_id=None,
                        member_epoch=i32(3),
                        client_id="rdkafka",
                        client_host="/127.0.0.1",
                        subscribed_topic_names=("t",),
                        assignment=describe_resp.Assignment(
                            topic_partitions=(
                                describe_resp.TopicPartitions(
                                    topic_id=TOPIC_ID,
                                    topic_name="t",
                                    partitions=(i32(0), i32(2)),
                                ),
                            )
                        ),
                    ),
                ),
                authorized_operations=i32(328),
            ),
        ),
    )
    read = w.ShareGroupDescribeResponse.decode(encode(answer), version=1)
    group = read.groups[0]
    assert (group.group_id, group.group_state, group.assignor_name) == ("g", "Stable", "simple")
    assert group.authorized_operations == 328
    member = group.members[0]
    assert (member.member_id, member.client_id, member.client_host) == (
        "m1",
        "rdkafka",
        "/127.0.0.1",
    )
    part = member.assignment.topic_partitions[0]
    assert (part.topic_id, part.topic_name, list(part.partitions)) == (TOPIC_ID, "t", [0, 2])


def _offsets_answer(module: Any, **lag: Any) -> Any:
    partition = module.DescribeShareGroupOffsetsResponsePartition(
        partition_index=i32(1),
        start_offset=i64(25),
        leader_epoch=i32(0),
        error_code=NO_ERROR,
        error_message=None,
        **lag,
    )
    return module.DescribeShareGroupOffsetsResponse(
        throttle_time=NO_THROTTLE,
        groups=(
            module.DescribeShareGroupOffsetsResponseGroup(
                group_id="g",
                topics=(
                    module.DescribeShareGroupOffsetsResponseTopic(
                        topic_name="t", topic_id=TOPIC_ID, partitions=(partition,)
                    ),
                ),
                error_code=NO_ERROR,
                error_message=None,
            ),
        ),
    )


@pytest.mark.parametrize("topics", [None, [("t", [0, 1])]])
def test_describe_share_group_offsets_request(topics: Any) -> None:
    group_cls = w.DescribeShareGroupOffsetsRequest.DescribeShareGroupOffsetsRequestGroup
    topic_cls = group_cls.DescribeShareGroupOffsetsRequestTopic
    ours = w.DescribeShareGroupOffsetsRequest(
        groups=[
            group_cls(
                group_id="g",
                topics=None
                if topics is None
                else [topic_cls(topic_name=t, partitions=ps) for t, ps in topics],
            )
        ]
    )
    kio = offsets_req.DescribeShareGroupOffsetsRequest(
        groups=(
            offsets_req.DescribeShareGroupOffsetsRequestGroup(
                group_id="g",
                topics=None
                if topics is None
                else tuple(
                    offsets_req.DescribeShareGroupOffsetsRequestTopic(
                        topic_name=t,
                        partitions=tuple(i32(p) for p in ps),
                    )
                    for t, ps in topics
                ),
            ),
        )
    )
    # v0 and v1 requests are the same on the wire.
    assert ours.encode(version=1) == encode(kio)
    assert ours.encode(version=0) == encode(kio)


@pytest.mark.parametrize(("version", "lag"), [(0, None), (1, 7)])
def test_describe_share_group_offsets_response(version: int, lag: int | None) -> None:
    module = offsets_resp_v0 if version == 0 else offsets_resp_v1
    answer = _offsets_answer(module, **({} if lag is None else {"lag": i64(lag)}))
    read = w.DescribeShareGroupOffsetsResponse.decode(encode(answer), version=version)
    part = read.groups[0].topics[0].partitions[0]
    assert (part.partition_index, part.start_offset, part.error_code) == (1, 25, 0)
    assert read.groups[0].topics[0].topic_id == TOPIC_ID
    assert part.lag == (-1 if lag is None else lag)


def test_alter_share_group_offsets() -> None:
    topic_cls = w.AlterShareGroupOffsetsRequest.AlterShareGroupOffsetsRequestTopic
    part_cls = topic_cls.AlterShareGroupOffsetsRequestPartition
    ours = w.AlterShareGroupOffsetsRequest(
        group_id="g",
        topics=[
            topic_cls(topic_name="t", partitions=[part_cls(partition_index=2, start_offset=9)])
        ],
    )
    kio = alter_req.AlterShareGroupOffsetsRequest(
        group_id="g",
        topics=(
            alter_req.AlterShareGroupOffsetsRequestTopic(
                topic_name="t",
                partitions=(
                    alter_req.AlterShareGroupOffsetsRequestPartition(
                        partition_index=i32(2), start_offset=i64(9)
                    ),
                ),
            ),
        ),
    )
    assert ours.encode(version=0) == encode(kio)
    answer = alter_resp.AlterShareGroupOffsetsResponse(
        throttle_time=NO_THROTTLE,
        error_code=NO_ERROR,
        error_message=None,
        responses=(
            alter_resp.AlterShareGroupOffsetsResponseTopic(
                topic_name="t",
                topic_id=TOPIC_ID,
                partitions=(
                    alter_resp.AlterShareGroupOffsetsResponsePartition(
                        partition_index=i32(2),
                        error_code=ErrorCode(68),
                        error_message="busy",
                    ),
                ),
            ),
        ),
    )
    read = w.AlterShareGroupOffsetsResponse.decode(encode(answer), version=0)
    part = read.responses[0].partitions[0]
    assert (part.partition_index, part.error_code, part.error_message) == (2, 68, "busy")


def test_delete_share_group_offsets() -> None:
    topic_cls = w.DeleteShareGroupOffsetsRequest.DeleteShareGroupOffsetsRequestTopic
    ours = w.DeleteShareGroupOffsetsRequest(group_id="g", topics=[topic_cls(topic_name="t")])
    kio = delete_req.DeleteShareGroupOffsetsRequest(
        group_id="g",
        topics=(delete_req.DeleteShareGroupOffsetsRequestTopic(topic_name="t"),),
    )
    assert ours.encode(version=0) == encode(kio)
    answer = delete_resp.DeleteShareGroupOffsetsResponse(
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode(69),
        error_message="gone",
        responses=(),
    )
    read = w.DeleteShareGroupOffsetsResponse.decode(encode(answer), version=0)
    assert (read.error_code, read.error_message, list(read.responses)) == (69, "gone", [])


def test_read_share_group_state_request_and_response() -> None:
    from kio.schema.read_share_group_state.v0 import request as read_req
    from kio.schema.read_share_group_state.v0 import response as read_resp
    from kio.static.primitive import i8, i16

    topic_cls = w.ReadShareGroupStateRequest.ReadStateData
    ours = w.ReadShareGroupStateRequest(
        group_id="g/ü",
        topics=[
            topic_cls(
                topic_id=TOPIC_ID,
                partitions=[topic_cls.PartitionData(partition=p, leader_epoch=-1) for p in (0, 3)],
            )
        ],
    )
    kio = read_req.ReadShareGroupStateRequest(
        group_id="g/ü",
        topics=(
            read_req.ReadStateData(
                topic_id=TOPIC_ID,
                partitions=tuple(
                    read_req.PartitionData(partition=i32(p), leader_epoch=i32(-1)) for p in (0, 3)
                ),
            ),
        ),
    )
    assert ours.encode(version=0) == encode(kio)

    answer = read_resp.ReadShareGroupStateResponse(
        results=(
            read_resp.ReadStateResult(
                topic_id=TOPIC_ID,
                partitions=(
                    read_resp.PartitionResult(
                        partition=i32(3),
                        error_code=NO_ERROR,
                        error_message=None,
                        state_epoch=i32(0),
                        start_offset=i64(25),
                        state_batches=(
                            read_resp.StateBatch(
                                first_offset=i64(25),
                                last_offset=i64(30),
                                delivery_state=i8(4),
                                delivery_count=i16(2),
                            ),
                        ),
                    ),
                ),
            ),
        ),
    )
    read = w.ReadShareGroupStateResponse.decode(encode(answer), version=0)
    part = read.results[0].partitions[0]
    assert (read.results[0].topic_id, part.partition, part.start_offset) == (TOPIC_ID, 3, 25)
    batch = part.state_batches[0]
    assert (batch.first_offset, batch.last_offset, batch.delivery_state) == (25, 30, 4)
    assert batch.delivery_count == 2
