"""Real-client helpers for the server's robustness tests: produce to and read back from
every partition of a topic with confluent-kafka, and raw connections the broker accepted.

Owns only test-side plumbing. It must never talk to anything but 127.0.0.1.
"""

from __future__ import annotations

import time

from confluent_kafka import Consumer, Producer, TopicPartition

from tests.logstore.broker.test_long_poll_and_lifecycle import _answering

# A connection the broker accepted and answered (retrying while it still counts
# connections that were just closed, e.g. the fixture's readiness probe).
answering = _answering


def produce_one_per_partition(bootstrap: str, topic: str, partitions: int, tag: str) -> None:
    """One record `tag-<p>` to each partition, acks=all; fails unless all are delivered."""
    errors: list[object] = []
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for p in range(partitions):
        producer.produce(
            topic,
            value=f"{tag}-{p}".encode(),
            partition=p,
            on_delivery=lambda err, _msg: errors.append(err) if err else None,
        )
        producer.poll(0)
    assert producer.flush(60) == 0, "records still queued"
    assert not errors, errors[:3]


def read_every_partition(bootstrap: str, topic: str, partitions: int, expected: int) -> dict:
    """{partition: [values]} read from offset 0 of every partition until `expected`
    records arrived (or 60 s passed)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{topic}",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    seen: dict[int, list[bytes]] = {}
    count = 0
    deadline = time.monotonic() + 60
    try:
        while count < expected and time.monotonic() < deadline:
            for msg in consumer.consume(1000, timeout=1.0):
                assert msg.error() is None, msg.error()
                seen.setdefault(msg.partition(), []).append(msg.value())
                count += 1
    finally:
        consumer.close()
    return seen
