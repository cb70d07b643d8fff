"""Differential: group members across a broker restart.

Kafka keeps each classic group's generation, leader, members and assignments (and each
KIP-848 group's epochs and assignments) in `__consumer_offsets` and reloads them on
start, so a static member, or a KIP-848 member, that keeps heartbeating through a broker
restart carries on without a rebalance. Odradek must do the
same after a clean stop and after `kill -9`. Both brokers here are the module's own (the
scenario restarts them), with the same group settings.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from reference.launcher import KafkaBroker, restart_kafka
from tests.broker_fixture import BrokerProcess
from tests.clusters import Cluster
from tests.differential.harness import assert_same, create_topic, produce
from tests.differential.own_pair import broker_pair
from tests.differential.test_groups_static import Recorder, poll_for, poll_until

pytestmark = pytest.mark.kafka

# Classic static members: a session long enough to cover a JVM restart, so the members
# do not give up on their own. KIP-848 members: the broker's session (45 s) applies.
PROTOCOLS: dict[str, tuple[bool, dict[str, Any]]] = {
    "classic-static": (True, {"session.timeout.ms": 45_000, "max.poll.interval.ms": 90_000}),
    "consumer": (
        False,
        {"group.protocol": "consumer", "session.timeout.ms": None, "max.poll.interval.ms": 90_000},
    ),
}


class Restartable:
    """A cluster the scenario may restart; `bootstrap` stays the same across restarts."""

    def __init__(self, kind: str, kafka: KafkaBroker | None, odradek: BrokerProcess | None):
        self.kind, self.kafka, self.odradek = kind, kafka, odradek

    @property
    def cluster(self) -> Cluster:
        broker = self.kafka or self.odradek
        assert broker is not None
        return Cluster(self.kind, broker.bootstrap, self.kind)

    def restart(self, *, kill: bool) -> None:
        if self.kafka is not None:
            self.kafka = restart_kafka(self.kafka, kill=kill)
            return
        assert self.odradek is not None
        if kill:
            self.odradek.kill9()
            self.odradek.start(self.odradek.port)
        else:
            self.odradek.restart(same_port=True)


@pytest.fixture(scope="module")
def restartable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Restartable]]:
    with broker_pair(tmp_path_factory, "restart", {}) as (kafka, odradek):
        pair = [Restartable("kafka", kafka, None), Restartable("odradek", None, odradek)]
        try:
            yield pair
        finally:
            # A restart replaced the Kafka process the pair started: stop the live one.
            if pair[0].kafka is not None:
                pair[0].kafka.stop()


def scenario(cluster: Cluster, protocol: str, restart: Callable[[], None]) -> dict[str, Any]:
    topic = f"restart-{uuid.uuid4().hex[:8]}"
    create_topic(cluster, topic, partitions=4)
    group = f"restart-{uuid.uuid4().hex[:8]}"
    static, conf = PROTOCOLS[protocol]
    members = [Recorder(cluster, group, f"i-{n}" if static else None, **conf) for n in (1, 2)]
    try:
        for r in members:
            r.subscribe([topic])
        poll_until(members, lambda: all(r.assigned() for r in members))
        # Two members joining with no initial delay may take two rebalances: only what
        # happens from here on is the scenario.
        poll_for(members, 1.0)
        before = [r.assigned() for r in members]
        settled = [len(r.events) for r in members]
        restart()
        produce(cluster, topic, [{"value": b"after", "partition": i % 4} for i in range(8)])
        poll_until(members, lambda: sum(r.records for r in members) >= 8, timeout=60.0)
        poll_for(members, 2.0)
        return {
            "events_after_restart": [
                [kind for kind, _ in r.events[n:]] for r, n in zip(members, settled, strict=True)
            ],
            "kept_assignment": [r.assigned() for r in members] == before,
            "consumed_after_restart": sum(r.records for r in members),
        }
    finally:
        for r in members:
            r.close()


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
@pytest.mark.parametrize("kill", [False, True], ids=["stop", "kill9"])
def test_members_ride_through_a_broker_restart(
    restartable: list[Restartable], kill: bool, protocol: str
) -> None:
    seen = {
        side.kind: scenario(side.cluster, protocol, lambda side=side: side.restart(kill=kill))
        for side in restartable
    }
    assert seen["kafka"] == {
        "events_after_restart": [[], []],
        "kept_assignment": True,
        "consumed_after_restart": 8,
    }
    assert_same(seen)
