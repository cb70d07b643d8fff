"""Differential: records produced with each codec read back identically on both clusters."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.clusters import Cluster
from tests.differential.harness import (
    assert_same,
    create_topic,
    observe,
    produce,
    read_partition,
    unique_topic,
)

pytestmark = pytest.mark.kafka

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def varied_messages() -> list[dict[str, Any]]:
    """Keys, null keys, tombstones, empty values, headers (repeated names), explicit
    timestamps, and one value large enough to span compression blocks."""
    messages: list[dict[str, Any]] = []
    for i in range(40):
        message: dict[str, Any] = {
            "key": None if i % 7 == 0 else f"key-{i % 5}".encode(),
            "value": f"value-{i}-".encode() * (i % 4 + 1),
            "timestamp": 1_700_000_000_000 + i * 1000,
        }
        if i % 3 == 0:
            message["headers"] = [("h", b"1"), ("h", b"2"), ("empty", b"")]
        messages.append(message)
    messages.append({"key": b"tombstone", "value": None, "timestamp": 1_700_000_100_000})
    messages.append({"key": b"empty", "value": b"", "timestamp": 1_700_000_100_001})
    messages.append(
        {"key": b"big", "value": bytes(range(256)) * 400, "timestamp": 1_700_000_100_002}
    )
    return messages


@pytest.mark.parametrize("codec", CODECS)
def test_codec_round_trip(clusters: tuple[Cluster, ...], codec: str) -> None:
    messages = varied_messages()

    def scenario(cluster: Cluster) -> tuple[Any, ...]:
        topic = unique_topic(f"codec-{codec}")
        create_topic(cluster, topic)
        reports = produce(cluster, topic, messages, **{"compression.type": codec, "acks": "all"})
        records, errors = read_partition(cluster, topic, 0, 0, len(messages))
        return sorted(reports), records, errors

    seen = observe(clusters, scenario)
    reports, records, errors = seen["kafka"]
    assert errors == []
    assert [r[1] for r in sorted(reports)] == list(range(len(messages)))
    assert len(records) == len(messages)
    assert_same(seen)


def test_read_from_middle_offset(clusters: tuple[Cluster, ...]) -> None:
    """A fetch starting inside a compressed batch returns only records from that offset."""
    messages = varied_messages()

    def scenario(cluster: Cluster) -> tuple[Any, ...]:
        topic = unique_topic("middle")
        create_topic(cluster, topic)
        produce(cluster, topic, messages, **{"compression.type": "lz4", "linger.ms": 50})
        return read_partition(cluster, topic, 0, 17, 5)

    seen = observe(clusters, scenario)
    records, _ = seen["kafka"]
    assert [r[1] for r in records] == [17, 18, 19, 20, 21]
    assert_same(seen)


def test_log_append_time_topic(clusters: tuple[Cluster, ...]) -> None:
    """With message.timestamp.type=LogAppendTime the broker stamps records (type 2)."""

    def scenario(cluster: Cluster) -> tuple[Any, ...]:
        topic = unique_topic("lat")
        create_topic(cluster, topic, config={"message.timestamp.type": "LogAppendTime"})
        produce(cluster, topic, [{"value": b"a", "timestamp": 1000}, {"value": b"b"}])
        records, errors = read_partition(cluster, topic, 0, 0, 2)
        # The stamp itself is the broker's clock: compare its type and that it is not
        # the producer's value, not the instant.
        return [(r[1], r[3], r[5], r[6] != 1000) for r in records], errors

    seen = observe(clusters, scenario)
    assert seen["kafka"] == ([(0, b"a", 2, True), (1, b"b", 2, True)], [])
    assert_same(seen)


# kafka-python 3 loads its schemas with a deprecated importlib.resources call.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("codec", CODECS)
def test_kafka_python_round_trip(clusters: tuple[Cluster, ...], codec: str) -> None:
    """kafka-python (its own protocol code and record decoder, idempotent by default)
    writes and reads back the same records on both clusters."""
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    def scenario(cluster: Cluster) -> Any:
        topic = unique_topic(f"kp-{codec}")
        create_topic(cluster, topic)
        producer = KafkaProducer(
            bootstrap_servers=cluster.bootstrap,
            compression_type=None if codec == "none" else codec,
            acks="all",
            linger_ms=5,
        )
        try:
            futures = [
                producer.send(
                    topic,
                    value=m["value"],
                    key=m["key"],
                    headers=list(m.get("headers", [])),
                    timestamp_ms=m["timestamp"],
                )
                for m in varied_messages()
            ]
            producer.flush(timeout=20)
            offsets = [f.get(timeout=20).offset for f in futures]
        finally:
            producer.close(timeout=10)
        consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap, enable_auto_commit=False)
        seen: list[tuple[Any, ...]] = []
        try:
            partition = TopicPartition(topic, 0)
            consumer.assign([partition])
            consumer.seek(partition, 0)
            deadline = time.monotonic() + 20
            while len(seen) < len(offsets) and time.monotonic() < deadline:
                for batch in consumer.poll(timeout_ms=500).values():
                    seen.extend(
                        (r.offset, r.key, r.value, tuple(r.headers), r.timestamp_type, r.timestamp)
                        for r in batch
                    )
        finally:
            consumer.close()
        return offsets, seen

    seen = observe(clusters, scenario)
    offsets, records = seen["kafka"]
    assert offsets == list(range(len(varied_messages())))
    assert len(records) == len(offsets)
    assert_same(seen)
