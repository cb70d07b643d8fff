"""Differential: `offsets.retention.minutes` on both brokers, at its smallest (1 minute).

Kafka's rules (KIP-211): offsets of a group using group management expire a retention
period after the group became empty; standalone commits (no group membership) a
retention period after the commit; a group with members keeps the offsets of the topics
it consumes; a group left with no members and no offsets is deleted in the same pass.
Both brokers here are the module's own, with a 1-minute retention checked every second,
and the scenario runs on both side by side, so the minute passes once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition

from tests.clusters import Cluster
from tests.differential.harness import QUIET, TIMEOUT, admin, assert_same, create_topic
from tests.differential.own_pair import broker_pair, clusters_of

pytestmark = pytest.mark.kafka

RETENTION = {"offsets.retention.minutes": "1", "offsets.retention.check.interval.ms": "1000"}
# How long an emptied group outlives the standalone commit made when the scenario starts.
EMPTIED_LATER_S = 15.0


@pytest.fixture(scope="module")
def retention_clusters(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Cluster, Cluster]]:
    with broker_pair(tmp_path_factory, "retention", RETENTION) as pair:
        yield clusters_of(*pair)


class Side:
    """One cluster's part of the scenario: a topic and three groups."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.admin = admin(cluster)
        self.topic = f"retention-{uuid.uuid4().hex[:8]}"
        create_topic(cluster, self.topic, partitions=1)
        tag = uuid.uuid4().hex[:8]
        self.groups = {name: f"{name}-{tag}" for name in ("solo", "emptied", "active")}
        self.members: dict[str, Consumer] = {}

    def member(self, name: str) -> Consumer:
        consumer = Consumer(
            {
                "bootstrap.servers": self.cluster.bootstrap,
                "group.id": self.groups[name],
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": 10_000,
                **QUIET,
            }
        )
        consumer.subscribe([self.topic])
        deadline = time.monotonic() + TIMEOUT
        while not consumer.assignment() and time.monotonic() < deadline:
            consumer.poll(0.1)
        consumer.commit(offsets=[TopicPartition(self.topic, 0, 1)], asynchronous=False)
        self.members[name] = consumer
        return consumer

    def commit_standalone(self) -> None:
        group = self.groups["solo"]
        futures = self.admin.alter_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, [TopicPartition(self.topic, 0, 1)])],
            request_timeout=TIMEOUT,
        )
        futures[group].result(timeout=TIMEOUT)

    def poll_members(self) -> None:
        for consumer in self.members.values():
            consumer.poll(0.05)

    def close(self, name: str) -> None:
        self.members.pop(name).close()

    def committed(self) -> dict[str, Any]:
        """Which groups still have an offset, and which are still listed."""
        have = {}
        for name, group in self.groups.items():
            request = ConsumerGroupTopicPartitions(group, [TopicPartition(self.topic, 0)])
            result = self.admin.list_consumer_group_offsets([request], request_timeout=TIMEOUT)
            (tp,) = result[group].result(timeout=TIMEOUT).topic_partitions
            have[name] = tp.offset
        listed = self.admin.list_consumer_groups(request_timeout=TIMEOUT).result(timeout=TIMEOUT)
        names = {g.group_id for g in listed.valid}
        return {
            "offsets": have,
            "listed": sorted(n for n, g in self.groups.items() if g in names),
        }


def run_until(sides: list[Side], done: Any, timeout: float) -> list[dict[str, Any]]:
    """Keep the active members polling and look at every side until `done` holds for
    each (or the timeout); returns each side's last observation."""
    deadline = time.monotonic() + timeout
    seen = [side.committed() for side in sides]
    while time.monotonic() < deadline and not all(done(s) for s in seen):
        for side in sides:
            for _ in range(10):
                side.poll_members()
        seen = [side.committed() for side in sides]
    return seen


def test_offsets_expire_by_kafkas_rules(retention_clusters: tuple[Cluster, Cluster]) -> None:
    sides = [Side(cluster) for cluster in retention_clusters]
    try:
        for side in sides:
            side.commit_standalone()
            side.member("emptied")
            side.member("active")
        # Being a member for a while, then leaving: the clock starts when it empties.
        run_until(sides, lambda s: False, EMPTIED_LATER_S)
        for side in sides:
            side.close("emptied")
        standalone_gone = run_until(sides, lambda s: s["offsets"]["solo"] < 0, 90.0)
        emptied_gone = run_until(sides, lambda s: s["offsets"]["emptied"] < 0, 90.0)
    finally:
        for side in sides:
            for name in list(side.members):
                side.close(name)
    seen = {
        side.cluster.kind: {"standalone_gone": first, "emptied_gone": second}
        for side, first, second in zip(sides, standalone_gone, emptied_gone, strict=True)
    }
    assert seen["kafka"] == {
        "standalone_gone": {
            "offsets": {"solo": -1001, "emptied": 1, "active": 1},
            "listed": ["active", "emptied"],
        },
        "emptied_gone": {
            "offsets": {"solo": -1001, "emptied": -1001, "active": 1},
            "listed": ["active"],
        },
    }
    assert_same(seen)
