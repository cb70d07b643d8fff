"""Kafka's Java KafkaShareConsumer (explicit acknowledgement) against Odradek and Kafka.

`ShareConsumerProbe.java` runs under the JDK's source launcher with the Kafka 4.4 jars and
prints every delivery. On both brokers: one and three consumers read every record exactly
once when all accept; a released record comes back once with its delivery count raised;
rejected records never come back; at the delivery limit (2) released records are archived.
On Odradek alone (Kafka's shortest lock is 15 s): a record whose consumer holds it without
acknowledging reaches another consumer once its lock lapses, as a second delivery.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reference.launcher import java_command
from tests.broker_fixture import BrokerProcess, start_broker
from tests.clients.group_topics import create_topic
from tests.clients.share_groups import configure_group, produce_values
from tests.clusters import Cluster, cluster_for
from tests.differential.harness import assert_same, observe

pytestmark = pytest.mark.kafka

PROBE = Path(__file__).with_name("ShareConsumerProbe.java")
RUN_TIMEOUT_S = 120


@pytest.fixture
def clusters(request: pytest.FixtureRequest) -> tuple[Cluster, Cluster]:
    return cluster_for(request, "kafka"), cluster_for(request, "odradek")


def probe(
    bootstrap: str, topic: str, group: str, scenario: str, count: int, consumers: int = 1
) -> tuple[list[tuple[int, int]], list[int]]:
    """[(value, delivery count)] in delivery order, and the "H" (held) lines' numbers."""
    done = subprocess.run(
        java_command(str(PROBE), [bootstrap, topic, group, scenario, str(count), str(consumers)]),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    deliveries = []
    held = []
    for line in done.stdout.splitlines():
        kind, *rest = line.split()
        if kind == "R":
            deliveries.append((int(rest[0]), int(rest[1])))
        elif kind == "H":
            held.append(int(rest[0]))
    return deliveries, held


def _run(cluster: Cluster, scenario: str, count: int, partitions: int, **configs: str) -> Any:
    topic = create_topic(cluster.bootstrap, partitions)
    group = configure_group(cluster.bootstrap, **configs)
    produce_values(cluster.bootstrap, topic, range(count), partitions)
    consumers = 3 if scenario == "accept3" else 1
    deliveries, _ = probe(cluster.bootstrap, topic, group, scenario.rstrip("3"), count, consumers)
    return sorted(deliveries)


def scenarios(cluster: Cluster) -> dict[str, Any]:
    return {
        "accept, one consumer": _run(cluster, "accept", 30, 1),
        "accept, three consumers": _run(cluster, "accept3", 90, 3),
        "release once": _run(cluster, "release", 10, 1),
        "reject": _run(cluster, "reject", 10, 1),
        "delivery limit 2": _run(cluster, "limit", 10, 1, share_delivery_count_limit="2"),
    }


def test_kafkas_share_consumer_sees_the_same_on_both(clusters: tuple[Cluster, Cluster]) -> None:
    seen = observe(clusters, scenarios)
    assert_same(seen)
    ours = seen["odradek"]
    assert ours["accept, one consumer"] == [(i, 1) for i in range(30)]
    assert ours["accept, three consumers"] == [(i, 1) for i in range(90)]
    assert ours["release once"] == sorted([(i, 1) for i in range(10)] + [(i, 2) for i in range(10)])
    assert ours["reject"] == [(i, 1) for i in range(10)]
    assert ours["delivery limit 2"] == ours["release once"]


@pytest.fixture(scope="module")
def short_lock_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    proc = start_broker(
        tmp_path_factory.mktemp("java-share") / "data",
        ("--group-share-min-record-lock-duration-ms", "500"),
    )
    try:
        yield proc
    finally:
        if proc.running:
            proc.stop()


def test_a_held_record_reaches_another_consumer_once_its_lock_lapses(
    short_lock_broker: BrokerProcess,
) -> None:
    bs = short_lock_broker.bootstrap
    topic = create_topic(bs, 1)
    group = configure_group(bs, share_record_lock_duration_ms="1000")
    produce_values(bs, topic, range(10), 1)
    deliveries, held = probe(bs, topic, group, "hold", 10)
    assert held
    assert held[0] > 0
    # The holder kept its connection and its session: only the lock's lapse frees them.
    assert sorted(deliveries) == [(i, 2) for i in range(held[0])]
