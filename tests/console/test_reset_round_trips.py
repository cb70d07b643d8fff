"""The offset-reset preview's round trips to the cluster, counted by a recording proxy.

The bundled broker advertises 127.0.0.2 while listening on 127.0.0.1, and a recording
proxy on 127.0.0.2 (same port) sits between it and every client connection, answering
each request 30 ms late like a network would. The preview must gather what it needs in
at most three dependent rounds, never ask the same thing twice, and use no client but the
gateway's batched reads.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.kafka import clients, resets
from console.lag.reset_plan import Plan, ResetSpec, plan_reset
from tests.broker_fixture import BrokerProcess, start_broker
from tests.console import groups_helpers as h
from tests.recording_proxy import RecordingProxy

DELAY_S = 0.03


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[RecordingProxy, str]]:
    broker: BrokerProcess = start_broker(tmp_path / "data", args=["--advertised-host", "127.0.0.2"])
    proxy = RecordingProxy("127.0.0.2", "127.0.0.1", broker.port, DELAY_S)
    try:
        yield proxy, f"127.0.0.2:{broker.port}"
    finally:
        clients.forget_all()
        proxy.close()
        broker.stop()


def _group_on_three_partitions(bootstrap: str) -> tuple[str, str]:
    topic = h.make_topic(bootstrap, partitions=3)
    base = int(time.time() * 1000) - 3_600_000
    for p in range(3):
        h.produce(bootstrap, topic, p, [base + i * 60_000 for i in range(10)])
    group = h.unique("grp-rt")
    h.consume_to(bootstrap, group, topic, {0: 4, 1: 6, 2: 8})
    return topic, group


def _preview(bootstrap: str, group: str, spec: ResetSpec, topic: str | None) -> Plan:
    return plan_reset(
        h.cluster(bootstrap),
        group,
        spec,
        topic=topic,
        partitions=None,
        now_ms=int(time.time() * 1000),
    )


def test_preview_to_an_offset_takes_three_rounds(proxied: tuple[RecordingProxy, str]) -> None:
    proxy, bootstrap = proxied
    topic, group = _group_on_three_partitions(bootstrap)
    clients.of(h.cluster(bootstrap)).wire()  # connected: setup is not the preview's
    proxy.clear()

    plan = _preview(bootstrap, group, ResetSpec("offset", "2"), topic)

    assert [r.new for r in plan.rows] == [2, 2, 2]
    assert all(r.new_timestamp is not None for r in plan.rows)
    assert proxy.rounds() == [
        ["FindCoordinator", "Metadata"],
        ["ListOffsets", "ListOffsets", "ListOffsets", "OffsetFetch"],
        ["Fetch"],
    ]


def test_the_reset_form_then_a_preview_of_every_topic_take_two_and_three_rounds(
    proxied: tuple[RecordingProxy, str],
) -> None:
    proxy, bootstrap = proxied
    topic, group = _group_on_three_partitions(bootstrap)
    clients.of(h.cluster(bootstrap)).wire()
    proxy.clear()

    # The form lists the topics the group has offsets for.
    assert set(resets.committed(h.cluster(bootstrap), [group])[group]) == {
        (topic, 0),
        (topic, 1),
        (topic, 2),
    }
    assert proxy.rounds() == [["FindCoordinator"], ["OffsetFetch"]]
    proxy.clear()

    plan = _preview(bootstrap, group, ResetSpec("shift", "+1"), None)

    assert [r.new for r in plan.rows] == [5, 7, 9]
    assert proxy.rounds() == [
        ["Metadata", "OffsetFetch"],
        ["ListOffsets", "ListOffsets", "ListOffsets"],
        ["Fetch"],
    ]


def test_preview_of_every_topic_takes_three_rounds_once_the_coordinator_is_known(
    proxied: tuple[RecordingProxy, str],
) -> None:
    proxy, bootstrap = proxied
    topic, group = _group_on_three_partitions(bootstrap)
    _preview(bootstrap, group, ResetSpec("earliest"), topic)  # connects, finds the coordinator
    proxy.clear()

    shifted = _preview(bootstrap, group, ResetSpec("shift", "-1"), None)

    assert [r.new for r in shifted.rows] == [3, 5, 7]
    assert proxy.rounds() == [
        ["Metadata", "OffsetFetch"],
        ["ListOffsets", "ListOffsets", "ListOffsets"],
        ["Fetch"],
    ]
    proxy.clear()

    ago = _preview(bootstrap, group, ResetSpec("duration", "55 min"), None)

    # ListOffsets answers the timestamp of the record it finds: no Fetch needed.
    assert [r.new for r in ago.rows] == [6, 6, 6]
    assert all(r.new_timestamp is not None for r in ago.rows)
    assert proxy.rounds() == [
        ["Metadata", "OffsetFetch"],
        ["ListOffsets", "ListOffsets", "ListOffsets", "ListOffsets"],
    ]
