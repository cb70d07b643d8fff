"""Shared by the consumer-group tests: a fresh 6-partition topic and values spread over it."""

from __future__ import annotations

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.clients.messages import unique_topic

PARTITIONS = 6


def create_topic(bootstrap: str, partitions: int = PARTITIONS) -> str:
    topic = unique_topic("grp")
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(10)
    return topic


def produce(bootstrap: str, topic: str, values: range) -> None:
    """Value i goes to partition i % PARTITIONS, so each partition's order is known."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in values:
        producer.produce(topic, value=str(i).encode(), partition=i % PARTITIONS)
    assert producer.flush(20) == 0
