"""Shared helpers for the topics-feature tests: pointing the console at a test cluster,
unique topic names, and producing records with a real client."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from django.test import override_settings

from console.kafka import admin


def unique(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@contextmanager
def console_on(bootstrap: str) -> Iterator[None]:
    """The console's `local` cluster is `bootstrap` for the duration; no stale snapshot."""
    admin.reset()
    with override_settings(ODRADEK_LOCAL_BOOTSTRAP=bootstrap, ODRADEK_CLUSTER_TIMEOUT=5):
        yield
    admin.reset()


def make_topic(bootstrap: str, name: str, partitions: int = 1, **configs: str) -> None:
    client = AdminClient({"bootstrap.servers": bootstrap})
    futures = client.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=1, config=configs)]
    )
    futures[name].result(timeout=15)


def produce(
    bootstrap: str, topic: str, count: int, partition: int = 0, size: int = 100, ts: int = 0
) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for i in range(count):
        kwargs = {"timestamp": ts} if ts else {}
        producer.produce(
            topic, key=str(i).encode(), value=b"x" * size, partition=partition, **kwargs
        )
    assert producer.flush(15) == 0


def commit(bootstrap: str, group: str, topic: str, offsets: dict[int, int]) -> None:
    """Commit `offsets` (partition -> next offset to read) for `group`, without joining."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "log_level": 0})
    try:
        consumer.commit(
            offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False
        )
    finally:
        consumer.close()
