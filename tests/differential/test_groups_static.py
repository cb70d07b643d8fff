"""Differential: static membership (KIP-345) with Kafka's real group defaults.

The session's shared brokers run with no initial rebalance delay to keep the suite fast;
these scenarios are about what that delay does, so this module starts its own pair: an
Apache Kafka and an Odradek both on Kafka's default `group.initial.rebalance.delay.ms`
(3 s). A librdkafka consumer sees a rebalance as a revoke followed by an assign
(eager protocols), so "no rebalance" is observed as "no revoke" in its callbacks.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from tests.clusters import Cluster
from tests.differential.harness import QUIET, TIMEOUT, assert_same, create_topic, observe, produce
from tests.differential.own_pair import broker_pair, clusters_of

pytestmark = pytest.mark.kafka

KAFKA_INITIAL_DELAY_MS = 3000


@pytest.fixture(scope="module")
def default_clusters(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Cluster, Cluster]]:
    """Kafka first, then Odradek, both with Kafka's default initial rebalance delay."""
    delay = {"group.initial.rebalance.delay.ms": str(KAFKA_INITIAL_DELAY_MS)}
    with broker_pair(tmp_path_factory, "defaults", delay) as pair:
        yield clusters_of(*pair)


class Recorder:
    """A static librdkafka consumer and every rebalance callback it received."""

    def __init__(self, cluster: Cluster, group: str, instance: str | None, **conf: Any) -> None:
        """`conf` overrides the defaults below; a None value removes a setting."""
        self.events: list[tuple[str, list[tuple[str, int]]]] = []
        self.records = 0
        settings = {
            "bootstrap.servers": cluster.bootstrap,
            "group.id": group,
            "group.instance.id": instance,
            "session.timeout.ms": 6000,
            "max.poll.interval.ms": 9000,
            "topic.metadata.refresh.interval.ms": 2000,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            **QUIET,
            **conf,
        }
        self.consumer = Consumer({k: v for k, v in settings.items() if v is not None})

    def subscribe(self, topics: list[str]) -> None:
        self.consumer.subscribe(topics, on_assign=self._assigned, on_revoke=self._revoked)

    def _assigned(self, _: Consumer, partitions: list[TopicPartition]) -> None:
        self.events.append(("assign", sorted((tp.topic, tp.partition) for tp in partitions)))

    def _revoked(self, _: Consumer, partitions: list[TopicPartition]) -> None:
        self.events.append(("revoke", sorted((tp.topic, tp.partition) for tp in partitions)))

    def poll(self) -> None:
        msg = self.consumer.poll(0.1)
        if msg is not None and msg.error() is None:
            self.records += 1

    def assigned(self) -> list[tuple[str, int]]:
        return sorted((tp.topic, tp.partition) for tp in self.consumer.assignment())

    def close(self) -> None:
        self.consumer.close()


def poll_until(recorders: list[Recorder], done: Any, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not done():
        for r in recorders:
            r.poll()


def poll_for(recorders: list[Recorder], seconds: float) -> None:
    # Consuming for a while is the scenario itself (heartbeats, metadata refreshes),
    # not a wait for time to pass.
    poll_until(recorders, lambda: False, timeout=seconds)


def shape(events: list[tuple[str, list[tuple[str, int]]]], prefix: str) -> list[Any]:
    """Events with topic names reduced to their suffix (names differ per cluster)."""
    return [(kind, [(t.removeprefix(prefix), p) for t, p in parts]) for kind, parts in events]


def test_static_members_with_a_regex_share_the_first_rebalance(
    default_clusters: tuple[Cluster, Cluster],
) -> None:
    """Two static members subscribing `^prefix.*`, the second starting a second after the
    first, get their assignment in one rebalance and keep it while they consume through
    several metadata refreshes."""

    def scenario(cluster: Cluster) -> dict[str, Any]:
        prefix = f"topic{uuid.uuid4().hex[:8]}"
        for suffix in ("-a", "-b"):
            create_topic(cluster, prefix + suffix, partitions=2)
        group = f"static-{uuid.uuid4().hex[:8]}"
        first = Recorder(cluster, group, "i-1")
        second = Recorder(cluster, group, "i-2")
        members = [first, second]
        try:
            # The second process starts a moment after the first, as deployments do.
            first.subscribe([f"^{prefix}.*"])
            poll_for([first], 1.0)
            second.subscribe([f"^{prefix}.*"])
            poll_until(members, lambda: all(r.assigned() for r in members))
            produce(cluster, prefix + "-a", [{"value": b"v", "partition": i % 2} for i in range(6)])
            poll_for(members, 7.0)
            seen = {
                "first": shape(first.events, prefix),
                "second": shape(second.events, prefix),
                "sizes": sorted(len(r.assigned()) for r in members),
                "consumed": sum(r.records for r in members),
            }
        finally:
            for r in members:
                r.close()
        return seen

    seen = observe(default_clusters, scenario)
    for observed in seen.values():
        for who in ("first", "second"):
            kinds = [kind for kind, _ in observed[who]]
            assert kinds == ["assign"], f"{who} rebalanced: {observed[who]}"
    kafka = seen["kafka"]
    assert kafka["sizes"] == [2, 2]
    assert kafka["consumed"] == 6
    # Which member gets which partitions depends on member ids (random per run).
    assert_same({k: {**v, "first": None, "second": None} for k, v in seen.items()})


def test_restarted_static_member_takes_its_place_without_a_rebalance(
    default_clusters: tuple[Cluster, Cluster],
) -> None:
    """A static member that restarts within its session timeout gets its old assignment
    back; the other member never sees a rebalance."""

    def scenario(cluster: Cluster) -> dict[str, Any]:
        topic = f"topic{uuid.uuid4().hex[:8]}"
        create_topic(cluster, topic, partitions=4)
        group = f"restart-{uuid.uuid4().hex[:8]}"
        stays = Recorder(cluster, group, "i-1")
        leaves = Recorder(cluster, group, "i-2")
        stays.subscribe([topic])
        leaves.subscribe([topic])
        replacement: Recorder | None = None
        try:
            poll_until([stays, leaves], lambda: bool(stays.assigned() and leaves.assigned()))
            before = leaves.assigned()
            # Static members send no LeaveGroup on close: the group keeps the slot.
            leaves.close()
            replacement = Recorder(cluster, group, "i-2")
            replacement.subscribe([topic])
            poll_until([stays, replacement], lambda: bool(replacement and replacement.assigned()))
            poll_for([stays, replacement], 4.0)
            seen = {
                "stays": [kind for kind, _ in stays.events],
                "replacement": [kind for kind, _ in replacement.events],
                "same_partitions": replacement.assigned() == before,
                "sizes": sorted([len(stays.assigned()), len(replacement.assigned())]),
            }
        finally:
            stays.close()
            if replacement is not None:
                replacement.close()
        return seen

    seen = observe(default_clusters, scenario)
    assert seen["kafka"] == {
        "stays": ["assign"],
        "replacement": ["assign"],
        "same_partitions": True,
        "sizes": [2, 2],
    }
    assert_same(seen)
