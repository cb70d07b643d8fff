"""Differential: what a partition's records in Produce may hold, and the leader epoch a
client names in Fetch, ListOffsets and OffsetForLeaderEpoch.

Kafka's `ProduceRequest.validateRecords` allows exactly one batch per partition and no
zstd before Produce v7. A `current_leader_epoch` above the partition's epoch (always 0
on a single node that never changed leaders) is UNKNOWN_LEADER_EPOCH (75), which clients
retry after refreshing their metadata; -1 (not given) and 0 are served.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from kio.schema.fetch.v11.request import FetchPartition, FetchRequest, FetchTopic
from kio.schema.fetch.v11.response import FetchResponse
from kio.schema.list_offsets.v5.request import (
    ListOffsetsPartition,
    ListOffsetsRequest,
    ListOffsetsTopic,
)
from kio.schema.list_offsets.v5.response import ListOffsetsResponse
from kio.schema.offset_for_leader_epoch.v3.request import (
    OffsetForLeaderEpochRequest,
    OffsetForLeaderPartition,
    OffsetForLeaderTopic,
)
from kio.schema.offset_for_leader_epoch.v3.response import OffsetForLeaderEpochResponse
from kio.schema.types import BrokerId, TopicName
from kio.static.primitive import i8, i32, i32Timedelta, i64

from tests.clusters import Cluster
from tests.differential.harness import assert_same, create_topic, observe, produce, unique_topic
from tests.differential.test_bad_inputs import produce_raw
from tests.differential.wire import decode, encode, exchange, frame, record_batch

pytestmark = pytest.mark.kafka

FETCH, LIST_OFFSETS, OFFSET_FOR_LEADER_EPOCH = 1, 2, 23
ZSTD = 4
EPOCHS = (-1, 0, 5, -2)


def test_produce_holds_one_batch_per_partition(clusters: tuple[Cluster, ...]) -> None:
    def scenario(cluster: Cluster) -> dict[str, Any]:
        topic = unique_topic("onebatch")
        create_topic(cluster, topic)
        two = bytes(record_batch([b"a"]) + record_batch([b"b", b"c"]))
        zstd = bytes(record_batch([b"d"], attributes=ZSTD))
        return {
            "two_batches": produce_raw(cluster, topic, 0, two),
            "zstd_at_v6": produce_raw(cluster, topic, 0, zstd, version=6),
            "after": produce_raw(cluster, topic, 0, bytes(record_batch([b"e"]))),
        }

    seen = observe(clusters, scenario)
    assert seen["kafka"] == {"two_batches": (87, -1), "zstd_at_v6": (76, -1), "after": (0, 0)}
    assert_same(seen)


def _request(cluster: Cluster, api_key: int, version: int, request: Any, answer: type) -> Any:
    reply = exchange(cluster.bootstrap, frame(api_key, version, 5, encode(request)))
    assert isinstance(reply, bytes), reply
    return decode(answer, reply[4:])


def _end_for_epoch(cluster: Cluster, topic: str, current: int) -> tuple[int, int, int]:
    partition = OffsetForLeaderPartition(
        partition=i32(0), current_leader_epoch=i32(current), leader_epoch=i32(0)
    )
    request = OffsetForLeaderEpochRequest(
        replica_id=BrokerId(-1),
        topics=(OffsetForLeaderTopic(topic=TopicName(topic), partitions=(partition,)),),
    )
    answer = _request(cluster, OFFSET_FOR_LEADER_EPOCH, 3, request, OffsetForLeaderEpochResponse)
    (part,) = answer.topics[0].partitions
    return int(part.error_code), int(part.leader_epoch), int(part.end_offset)


def _latest(cluster: Cluster, topic: str, current: int) -> tuple[int, int]:
    partition = ListOffsetsPartition(
        partition_index=i32(0), current_leader_epoch=i32(current), timestamp=i64(-1)
    )
    request = ListOffsetsRequest(
        replica_id=BrokerId(-1),
        isolation_level=i8(0),
        topics=(ListOffsetsTopic(name=TopicName(topic), partitions=(partition,)),),
    )
    answer = _request(cluster, LIST_OFFSETS, 5, request, ListOffsetsResponse)
    (part,) = answer.topics[0].partitions
    return int(part.error_code), int(part.offset)


def _fetch(cluster: Cluster, topic: str, current: int) -> tuple[int, int, bool]:
    partition = FetchPartition(
        partition=i32(0),
        current_leader_epoch=i32(current),
        fetch_offset=i64(0),
        partition_max_bytes=i32(65536),
    )
    request = FetchRequest(
        max_wait=i32Timedelta.parse(datetime.timedelta(milliseconds=100)),
        min_bytes=i32(1),
        topics=(FetchTopic(topic=TopicName(topic), partitions=(partition,)),),
        forgotten_topics_data=(),
    )
    answer = _request(cluster, FETCH, 11, request, FetchResponse)
    (part,) = answer.responses[0].partitions
    return int(part.error_code), int(part.high_watermark), bool(part.records)


def test_a_leader_epoch_the_partition_never_had(clusters: tuple[Cluster, ...]) -> None:
    def scenario(cluster: Cluster) -> dict[str, Any]:
        topic = unique_topic("epochs")
        create_topic(cluster, topic)
        produce(cluster, topic, [{"value": b"a"}, {"value": b"b"}])
        return {
            "offset_for_leader_epoch": [_end_for_epoch(cluster, topic, e) for e in EPOCHS],
            "list_offsets": [_latest(cluster, topic, e) for e in EPOCHS],
            "fetch": [_fetch(cluster, topic, e) for e in EPOCHS],
        }

    seen = observe(clusters, scenario)
    assert seen["kafka"]["list_offsets"] == [(0, 2), (0, 2), (75, -1), (74, -1)]
    assert_same(seen)
