"""Differential: what a group request is checked for first.

Kafka answers an OffsetCommit's unknown topics and partitions UNKNOWN_TOPIC_OR_PARTITION
before the group coordinator sees the request, so those never get the group's error. A
ConsumerGroupHeartbeat is validated (an assignor the broker lacks is
UNSUPPORTED_ASSIGNOR) before its group is looked up, and a member that names an epoch
other than 0 for a group that does not exist gets GROUP_ID_NOT_FOUND.
"""

from __future__ import annotations

import datetime
import time
import uuid
from typing import Any

import pytest
from kio.schema.consumer_group_heartbeat.v0.request import ConsumerGroupHeartbeatRequest
from kio.schema.consumer_group_heartbeat.v0.response import ConsumerGroupHeartbeatResponse
from kio.schema.find_coordinator.v2.request import FindCoordinatorRequest
from kio.schema.offset_commit.v7.request import (
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
)
from kio.schema.offset_commit.v7.response import OffsetCommitResponse
from kio.schema.offset_commit.v9 import request as v9
from kio.schema.offset_commit.v9.response import OffsetCommitResponse as OffsetCommitResponseV9
from kio.schema.types import GroupId, TopicName
from kio.static.primitive import i32, i32Timedelta, i64

from tests.clusters import Cluster
from tests.differential.harness import assert_same, create_topic, observe, unique_topic
from tests.differential.wire import decode, encode, exchange, frame

pytestmark = pytest.mark.kafka

OFFSET_COMMIT, FIND_COORDINATOR, CONSUMER_GROUP_HEARTBEAT = 8, 10, 68
# A broker just started may not have its group coordinator loaded (Kafka makes
# __consumer_offsets at the first FindCoordinator, then loads it): asked again.
NOT_READY = {14, 15, 16}


def _until_ready(cluster: Cluster, group: str, ask: Any) -> Any:
    deadline = time.monotonic() + 30
    find = frame(FIND_COORDINATOR, 2, 1, encode(FindCoordinatorRequest(key=group)))
    while (answer := ask()) and NOT_READY & set(answer.values()):
        assert time.monotonic() < deadline, f"the coordinator never answered: {answer}"
        exchange(cluster.bootstrap, find)
        time.sleep(0.1)
    return answer


def _commit(
    cluster: Cluster,
    group: str,
    generation: int,
    member: str,
    where: dict[str, list[int]],
    version: int = 7,
) -> dict[str, int]:
    """Each partition's answer by name; `version` 7 or 9 (both carry the same fields)."""
    request = OffsetCommitRequest(
        group_id=GroupId(group),
        generation_id_or_member_epoch=i32(generation),
        member_id=member,
        group_instance_id=None,
        topics=tuple(
            OffsetCommitRequestTopic(
                name=TopicName(topic),
                partitions=tuple(
                    OffsetCommitRequestPartition(
                        partition_index=i32(p), committed_offset=i64(1), committed_metadata=None
                    )
                    for p in partitions
                ),
            )
            for topic, partitions in where.items()
        ),
    )

    def ask() -> dict[str, int]:
        if version == 9:
            reply = exchange(
                cluster.bootstrap, frame(OFFSET_COMMIT, 9, 1, encode_v9(request), True)
            )
            assert isinstance(reply, bytes), reply
            answer = decode(OffsetCommitResponseV9, reply[5:])
        else:
            reply = exchange(cluster.bootstrap, frame(OFFSET_COMMIT, 7, 1, encode(request)))
            assert isinstance(reply, bytes), reply
            answer = decode(OffsetCommitResponse, reply[4:])
        # By name: Kafka lists the partitions it refused itself first.
        names = {t: "absent" if t.startswith("absent-") else "topic" for t in where}
        return {
            f"{names[t.name]}-{p.partition_index}": int(p.error_code)
            for t in answer.topics
            for p in t.partitions
        }

    return _until_ready(cluster, group, ask)  # type: ignore[no-any-return]


def encode_v9(request: OffsetCommitRequest) -> bytes:
    """The same request at v9 (flexible: its own classes)."""
    return encode(
        v9.OffsetCommitRequest(
            group_id=request.group_id,
            generation_id_or_member_epoch=request.generation_id_or_member_epoch,
            member_id=request.member_id,
            group_instance_id=None,
            topics=tuple(
                v9.OffsetCommitRequestTopic(
                    name=t.name,
                    partitions=tuple(
                        v9.OffsetCommitRequestPartition(
                            partition_index=p.partition_index,
                            committed_offset=p.committed_offset,
                            committed_metadata=None,
                        )
                        for p in t.partitions
                    ),
                )
                for t in request.topics
            ),
        )
    )


def test_offset_commit_answers_unknown_partitions_before_the_group(
    clusters: tuple[Cluster, ...],
) -> None:
    def scenario(cluster: Cluster) -> dict[str, Any]:
        topic = unique_topic("commitcheck")
        create_topic(cluster, topic)
        absent = f"absent-{uuid.uuid4().hex[:8]}"
        group = f"g-{uuid.uuid4().hex[:8]}"
        return {
            "simple commit": _commit(cluster, group, -1, "", {topic: [0, 3]}),
            "stranger": _commit(cluster, group, 1, "m", {topic: [0, 3], absent: [0]}),
            "unknown group": _commit(cluster, f"{group}-x", 1, "m", {topic: [0], absent: [0]}),
            "unknown group, v9": _commit(
                cluster, f"{group}-y", 1, "m", {topic: [0], absent: [0]}, version=9
            ),
        }

    seen = observe(clusters, scenario)
    assert seen["kafka"]["simple commit"] == {"topic-0": 0, "topic-3": 3}
    assert seen["kafka"]["stranger"]["absent-0"] == 3
    assert seen["kafka"]["stranger"]["topic-3"] == 3
    # Kafka's compatibility rule: GROUP_ID_NOT_FOUND from v9, ILLEGAL_GENERATION before.
    assert seen["kafka"]["unknown group"]["topic-0"] == 22
    assert seen["kafka"]["unknown group, v9"]["topic-0"] == 69
    assert_same(seen)


def _heartbeat(cluster: Cluster, group: str, epoch: int, assignor: str | None) -> int:
    request = ConsumerGroupHeartbeatRequest(
        group_id=GroupId(group),
        member_id=uuid.uuid4().hex[:22],
        member_epoch=i32(epoch),
        rebalance_timeout=i32Timedelta.parse(datetime.timedelta(seconds=30)),
        subscribed_topic_names=(TopicName("t"),),
        server_assignor=assignor,
        topic_partitions=(),
    )

    def ask() -> dict[str, int]:
        reply = exchange(
            cluster.bootstrap, frame(CONSUMER_GROUP_HEARTBEAT, 0, 1, encode(request), True)
        )
        assert isinstance(reply, bytes), reply
        return {"error": int(decode(ConsumerGroupHeartbeatResponse, reply[5:]).error_code)}

    return int(_until_ready(cluster, group, ask)["error"])


def test_consumer_heartbeat_checks_the_request_then_the_group(
    clusters: tuple[Cluster, ...],
) -> None:
    def scenario(cluster: Cluster) -> dict[str, Any]:
        group = f"g-{uuid.uuid4().hex[:8]}"
        return {
            "unknown group, epoch 1": _heartbeat(cluster, group, 1, None),
            "unknown group, unknown assignor": _heartbeat(cluster, group, 1, "nonsense"),
            "new member, unknown assignor": _heartbeat(cluster, group, 0, "nonsense"),
        }

    seen = observe(clusters, scenario)
    assert seen["kafka"]["unknown group, epoch 1"] == 69  # GROUP_ID_NOT_FOUND
    assert_same(seen)
