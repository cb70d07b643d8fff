"""Differential: ListOffsets (earliest, latest, by timestamp, max timestamp) and DeleteRecords."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import OffsetSpec

from tests.clusters import Cluster
from tests.differential.harness import (
    TIMEOUT,
    admin,
    assert_same,
    create_topic,
    error_name,
    observe,
    outcome,
    produce,
    read_partition,
    unique_topic,
    watermarks,
)

pytestmark = pytest.mark.kafka

# Timestamps out of order on purpose: "first offset with timestamp >= T" and
# "max timestamp" are then different questions with different answers.
STAMPS = [1000, 2000, 2000, 5000, 3000, 6000]


def list_offsets(cluster: Cluster, topic: str, specs: dict[str, OffsetSpec]) -> dict[str, Any]:
    client = admin(cluster)
    seen: dict[str, Any] = {}
    for label, spec in specs.items():
        futures = client.list_offsets({TopicPartition(topic, 0): spec}, request_timeout=TIMEOUT)
        try:
            info = next(iter(futures.values())).result(timeout=TIMEOUT)
        except Exception as exc:
            seen[label] = error_name(exc)
        else:
            seen[label] = (info.offset, info.timestamp)
    return seen


def test_list_offsets_by_timestamp(clusters: tuple[Cluster, ...]) -> None:
    specs = {
        "earliest": OffsetSpec.earliest(),
        "latest": OffsetSpec.latest(),
        "max_timestamp": OffsetSpec.max_timestamp(),
        "t500": OffsetSpec.for_timestamp(500),
        "t1000": OffsetSpec.for_timestamp(1000),
        "t1500": OffsetSpec.for_timestamp(1500),
        "t2000": OffsetSpec.for_timestamp(2000),
        "t4000": OffsetSpec.for_timestamp(4000),
        "t6000": OffsetSpec.for_timestamp(6000),
        "t9000": OffsetSpec.for_timestamp(9000),
    }

    def scenario(cluster: Cluster) -> dict[str, Any]:
        topic = unique_topic("ts")
        create_topic(cluster, topic)
        # One record per request so each lands in its own batch, as well as one batch
        # holding several: lookups must work inside and across batches.
        for stamp in STAMPS[:3]:
            produce(cluster, topic, [{"value": b"x", "timestamp": stamp}])
        produce(cluster, topic, [{"value": b"y", "timestamp": s} for s in STAMPS[3:]])
        return list_offsets(cluster, topic, specs)

    seen = observe(clusters, scenario)
    kafka = seen["kafka"]
    assert kafka["t1500"][0] == 1
    assert kafka["t4000"][0] == 3
    assert kafka["t9000"][0] == -1
    assert kafka["max_timestamp"] == (5, 6000)
    assert_same(seen)


def test_offsets_for_times_consumer(clusters: tuple[Cluster, ...]) -> None:
    """The consumer's offsets_for_times (ListOffsets from a Consumer) agrees too."""
    from confluent_kafka import Consumer

    def scenario(cluster: Cluster) -> list[tuple[int, int]]:
        topic = unique_topic("oft")
        create_topic(cluster, topic)
        produce(cluster, topic, [{"value": b"z", "timestamp": s} for s in STAMPS])
        consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "oft"})
        try:
            out = []
            for stamp in (0, 2000, 2500, 6000, 7000):
                (tp,) = consumer.offsets_for_times(
                    [TopicPartition(topic, 0, stamp)], timeout=TIMEOUT
                )
                out.append((stamp, tp.offset))
            return out
        finally:
            consumer.close()

    seen = observe(clusters, scenario)
    assert seen["kafka"] == [(0, 0), (2000, 1), (2500, 3), (6000, 5), (7000, -1)]
    assert_same(seen)


def test_delete_records(clusters: tuple[Cluster, ...]) -> None:
    def scenario(cluster: Cluster) -> dict[str, Any]:
        topic = unique_topic("delrec")
        create_topic(cluster, topic)
        produce(cluster, topic, [{"value": str(i).encode()} for i in range(10)])
        client = admin(cluster)
        seen: dict[str, Any] = {}
        futures = client.delete_records([TopicPartition(topic, 0, 4)], request_timeout=TIMEOUT)
        deleted = next(iter(futures.values())).result(timeout=TIMEOUT)
        seen["low_watermark"] = deleted.low_watermark
        seen["watermarks"] = watermarks(cluster, topic)
        seen["read_from_4"] = [r[3] for r in read_partition(cluster, topic, 0, 4, 2)[0]]
        # auto.offset.reset=error: librdkafka reports the broker's OFFSET_OUT_OF_RANGE
        # as _AUTO_OFFSET_RESET.
        seen["read_below_start"] = read_partition(cluster, topic, 0, 1, 1)
        # Deleting below the current start is a no-op that still succeeds.
        futures = client.delete_records([TopicPartition(topic, 0, 2)], request_timeout=TIMEOUT)
        seen["delete_below_start"] = outcome(next(iter(futures.values())))
        # Past the high watermark: OFFSET_OUT_OF_RANGE.
        futures = client.delete_records([TopicPartition(topic, 0, 11)], request_timeout=TIMEOUT)
        seen["delete_past_end"] = outcome(next(iter(futures.values())))
        # -1 means "up to the high watermark".
        futures = client.delete_records([TopicPartition(topic, 0, -1)], request_timeout=TIMEOUT)
        seen["delete_all"] = next(iter(futures.values())).result(timeout=TIMEOUT).low_watermark
        seen["after_all"] = watermarks(cluster, topic)
        futures = client.delete_records(
            [TopicPartition(unique_topic("absent"), 0, 1)], request_timeout=TIMEOUT
        )
        seen["unknown_topic"] = outcome(next(iter(futures.values())))
        return seen

    seen = observe(clusters, scenario)
    kafka = seen["kafka"]
    assert kafka["low_watermark"] == 4
    assert kafka["watermarks"] == (4, 10)
    assert kafka["read_from_4"] == [b"4", b"5"]
    assert kafka["read_below_start"] == ([], ["_AUTO_OFFSET_RESET"])
    assert kafka["delete_past_end"] == "OFFSET_OUT_OF_RANGE"
    assert kafka["after_all"] == (10, 10)
    assert_same(seen)


def test_fetch_past_end(clusters: tuple[Cluster, ...]) -> None:
    def scenario(cluster: Cluster) -> Any:
        topic = unique_topic("pastend")
        create_topic(cluster, topic)
        produce(cluster, topic, [{"value": b"a", "timestamp": 7}, {"value": b"b", "timestamp": 8}])
        return (
            read_partition(cluster, topic, 0, 5, 1),
            read_partition(cluster, topic, 0, 2, 1),
            read_partition(cluster, topic, 0, 5, 1, **{"auto.offset.reset": "earliest"})[0],
        )

    seen = observe(clusters, scenario)
    past, at_end, reset = seen["kafka"]
    assert past == ([], ["_AUTO_OFFSET_RESET"])
    assert at_end == ([], [])
    assert [r[1] for r in reset] == [0]
    assert_same(seen)
