"""Differential: KIP-848 regular-expression subscriptions (SubscribedTopicRegex).

With `group.protocol=consumer` librdkafka sends the pattern to the broker, which resolves
it against the topics that exist and keeps resolving it as topics are created: the
assignment grows without the client asking. Kafka resolves with RE2/J over whole names;
Odradek with Python's `re` (the same on this common subset).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer

from tests.clusters import Cluster
from tests.differential.harness import QUIET, assert_same, create_topic, observe

pytestmark = pytest.mark.kafka

# Kafka re-resolves a group's patterns at most every 10 s when topics change.
RESOLVE_TIMEOUT = 40.0


def assigned(consumer: Consumer, prefix: str) -> list[tuple[str, int]]:
    return sorted((tp.topic.removeprefix(prefix), tp.partition) for tp in consumer.assignment())


def poll_until(consumer: Consumer, prefix: str, want: list[tuple[str, int]]) -> list[Any]:
    deadline = time.monotonic() + RESOLVE_TIMEOUT
    seen = assigned(consumer, prefix)
    while time.monotonic() < deadline and seen != want:
        consumer.poll(0.2)
        seen = assigned(consumer, prefix)
    return seen


def test_regex_subscription_follows_new_matching_topics(clusters: tuple[Cluster, ...]) -> None:
    def scenario(cluster: Cluster) -> dict[str, Any]:
        prefix = f"rx{uuid.uuid4().hex[:8]}"
        create_topic(cluster, prefix + "-orders", partitions=2)
        create_topic(cluster, prefix + "x-other", partitions=1)  # does not match
        consumer = Consumer(
            {
                "bootstrap.servers": cluster.bootstrap,
                "group.id": f"g-{prefix}",
                "group.protocol": "consumer",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                **QUIET,
            }
        )
        seen: dict[str, Any] = {}
        try:
            consumer.subscribe([f"^{prefix}-.*"])
            seen["first"] = poll_until(consumer, prefix, [("-orders", 0), ("-orders", 1)])
            create_topic(cluster, prefix + "-payments", partitions=1)
            seen["after_create"] = poll_until(
                consumer, prefix, [("-orders", 0), ("-orders", 1), ("-payments", 0)]
            )
        finally:
            consumer.close()
        return seen

    seen = observe(clusters, scenario)
    assert seen["kafka"] == {
        "first": [("-orders", 0), ("-orders", 1)],
        "after_create": [("-orders", 0), ("-orders", 1), ("-payments", 0)],
    }
    assert_same(seen)
