"""Differential: the coordinator epoch in transaction markers across broker restarts.

A single-node Kafka writes its `__transaction_state` partition's leader epoch into every
marker: 0 on a fresh cluster, two more after each restart, clean or `kill -9`. A
transactional id commits one record, the broker restarts, it commits again (and again
after a kill); the markers' types and coordinator epochs are compared. Both brokers are
the module's own (the scenario restarts them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.differential.harness import assert_same, create_topic, unique_topic
from tests.differential.own_pair import broker_pair
from tests.differential.test_groups_restart import Restartable
from tests.differential.test_transactions_compaction import (
    batches_below,
    markers_of,
    one_record_txn,
    txn_producer,
)
from tests.logstore.broker.wire import Wire

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Restartable]]:
    with broker_pair(tmp_path_factory, "txn-restart", {}) as (kafka, odradek):
        both = [Restartable("kafka", kafka, None), Restartable("odradek", None, odradek)]
        try:
            yield both
        finally:
            if both[0].kafka is not None:  # a restart replaced the process the pair started
                both[0].kafka.stop()


def _scenario(node: Restartable) -> list[tuple[int, int, int]]:
    topic = unique_topic("txnepoch")
    create_topic(node.cluster, topic)
    steps: list[Callable[[], Any]] = [
        lambda: None,
        lambda: node.restart(kill=False),
        lambda: node.restart(kill=True),
    ]
    for step in steps:
        step()
        producer = txn_producer(node.cluster, f"epoch-{topic}")
        with Wire(node.cluster.bootstrap) as wire:
            one_record_txn(wire, producer, topic, b"k", b"v", commit=True)
    with Wire(node.cluster.bootstrap) as wire:
        return markers_of(batches_below(wire, topic, 1 << 62))


def test_marker_coordinator_epochs_across_restarts(pair: list[Restartable]) -> None:
    seen = {node.kind: _scenario(node) for node in pair}
    assert seen["kafka"] == [(1, 1, 0), (3, 1, 2), (5, 1, 4)]
    assert_same(seen)
