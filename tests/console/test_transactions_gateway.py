"""console.kafka.transactions against real clusters (Odradek and Kafka): a transaction
confluent-kafka leaves open is listed with its producer, partitions and timeout, and the
partitions it writes show the last stable offset behind the log end."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from console.kafka import transactions as kt
from tests.clusters import (
    Cluster,
    cluster_or_three_nodes,  # noqa: F401 (this module's `cluster`)
)
from tests.console import coordinators, txn_helpers
from tests.console import groups_helpers as h


@pytest.fixture
def open_txn(cluster: Cluster) -> Iterator[tuple[str, str, str]]:
    with txn_helpers.open_transaction(cluster.bootstrap) as (topic, tid):
        yield cluster.bootstrap, topic, tid


def test_an_open_transaction_is_listed_with_its_lso_gap(open_txn: tuple[str, str, str]) -> None:
    bootstrap, topic, tid = open_txn
    view = kt.open_transactions(h.cluster(bootstrap))

    mine = [t for t in view.transactions if t.transactional_id == tid]
    assert len(mine) == 1, view
    txn = mine[0]
    assert txn.state == "Ongoing"
    assert txn.timeout_ms == 60_000
    assert txn.producer_id >= 0
    assert txn.producer_epoch >= 0
    assert txn.start_ms > 0
    assert txn.partitions == ((topic, 0), (topic, 1))
    assert view.offsets[(topic, 0)] == kt.StableOffsets(stable=2, end=5)
    assert view.offsets[(topic, 0)].held_back == 3
    assert view.offsets[(topic, 1)] == kt.StableOffsets(stable=0, end=1)


def test_a_committed_transaction_is_no_longer_listed(cluster: Cluster) -> None:
    topic = h.make_topic(cluster.bootstrap, partitions=1)
    tid = h.unique("txn-done")
    producer = Producer({**h.conf(cluster.bootstrap), "transactional.id": tid})
    producer.init_transactions(10)
    producer.begin_transaction()
    producer.produce(topic, value=b"x", partition=0)
    producer.commit_transaction(10)

    # The commit call returns once the coordinator decided (PrepareCommit); Kafka writes
    # the markers just after, and until then the transaction is rightly listed.
    deadline = time.monotonic() + 10
    while True:
        view = kt.open_transactions(h.cluster(cluster.bootstrap))
        listed = [t.state for t in view.transactions if t.transactional_id == tid]
        if not listed or time.monotonic() > deadline:
            break
        assert listed == ["PrepareCommit"]
        time.sleep(0.05)

    assert not listed
    leader = AdminClient(h.conf(cluster.bootstrap)).list_topics(topic, timeout=10)
    leaders = {(topic, 0): leader.topics[topic].partitions[0].leader}
    assert kt.stable_offsets(h.cluster(cluster.bootstrap), leaders) == {
        (topic, 0): kt.StableOffsets(stable=2, end=2)  # the record and its commit marker
    }


def test_transactions_coordinated_by_every_broker_are_all_listed(
    open_txn: tuple[str, str, str],
) -> None:
    """On three nodes each broker coordinates some transactional ids and lists only its
    own: the page asks every broker and describes each id where it was listed."""
    bootstrap, _, first = open_txn  # its coordinator made the transaction log
    per_node = coordinators.ids_per_node(bootstrap, coordinators.TRANSACTIONS_TOPIC, "txn-every")
    with ExitStack() as stack:
        opened = [
            stack.enter_context(txn_helpers.open_transaction(bootstrap, tid))
            for tid in per_node.values()
        ]

        view = kt.open_transactions(h.cluster(bootstrap))

    listed = {t.transactional_id: t for t in view.transactions}
    assert view.warnings == []
    assert {first, *per_node.values()} <= set(listed)
    for topic, tid in opened:
        assert (listed[tid].state, listed[tid].partitions) == ("Ongoing", ((topic, 0), (topic, 1)))
        assert view.offsets[(topic, 0)] == kt.StableOffsets(stable=2, end=5)
