"""Differential: idempotent and transactional producers, read_committed vs read_uncommitted,
and the transaction coordinator's error codes for each misuse on the raw wire."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from confluent_kafka import Producer

from tests.clients.txn_wire import TxnWire
from tests.clusters import Cluster
from tests.differential.harness import (
    QUIET,
    TIMEOUT,
    assert_same,
    create_topic,
    observe,
    produce,
    read_partition,
    unique_topic,
    watermarks,
)
from tests.logstore.transactions.test_txn_wire import add_partitions
from tests.logstore.transactions.test_txn_wire import produce as produce_txn

pytestmark = pytest.mark.kafka


def test_idempotent_producer(clusters: tuple[Cluster, ...]) -> None:
    def scenario(cluster: Cluster) -> Any:
        topic = unique_topic("idem")
        create_topic(cluster, topic)
        reports = produce(
            cluster,
            topic,
            [{"value": str(i).encode(), "timestamp": 1000 + i} for i in range(200)],
            **{"enable.idempotence": True, "acks": "all", "max.in.flight": 5},
        )
        records, errors = read_partition(cluster, topic, 0, 0, 200)
        return sorted(reports), [r[3] for r in records], errors

    seen = observe(clusters, scenario)
    reports, values, _ = seen["kafka"]
    assert [r[1] for r in reports] == list(range(200))
    assert values == [str(i).encode() for i in range(200)]
    assert_same(seen)


def test_transactions_commit_and_abort(clusters: tuple[Cluster, ...]) -> None:
    """Committed data is visible to read_committed readers, aborted data is not; control
    batches take an offset each; read_uncommitted sees both."""

    def scenario(cluster: Cluster) -> dict[str, Any]:
        topic = unique_topic("txn")
        create_topic(cluster, topic, partitions=2)
        producer = Producer(
            {
                "bootstrap.servers": cluster.bootstrap,
                "transactional.id": f"txn-{uuid.uuid4().hex[:8]}",
                "transaction.timeout.ms": 10000,
                **QUIET,
            }
        )
        producer.init_transactions(TIMEOUT)
        producer.begin_transaction()
        for i in range(3):
            producer.produce(topic, f"c{i}".encode(), partition=i % 2, timestamp=100 + i)
        producer.commit_transaction(TIMEOUT)
        producer.begin_transaction()
        for i in range(3):
            producer.produce(topic, f"a{i}".encode(), partition=i % 2, timestamp=200 + i)
        # Flush first: aborting purges what is still queued, and the point is that
        # aborted records reach the log and are then hidden.
        assert producer.flush(TIMEOUT) == 0
        producer.abort_transaction(TIMEOUT)
        producer.begin_transaction()
        producer.produce(topic, b"last", partition=0, timestamp=300)
        producer.commit_transaction(TIMEOUT)
        seen: dict[str, Any] = {}
        for isolation in ("read_committed", "read_uncommitted"):
            seen[isolation] = [
                [
                    (r[1], r[3])
                    for r in read_partition(
                        cluster, topic, p, 0, 20, **{"isolation.level": isolation}
                    )[0]
                ]
                for p in range(2)
            ]
        seen["watermarks"] = [watermarks(cluster, topic, p) for p in range(2)]
        return seen

    seen = observe(clusters, scenario)
    kafka = seen["kafka"]
    assert [v for _, v in kafka["read_committed"][0]] == [b"c0", b"c2", b"last"]
    assert [v for _, v in kafka["read_uncommitted"][0]] == [b"c0", b"c2", b"a0", b"a2", b"last"]
    assert kafka["watermarks"] == [(0, 8), (0, 4)]  # each commit/abort marker takes an offset
    assert_same(seen)


def parts(wire: TxnWire, version: int, ask: dict[str, list[int]], **kw: Any) -> list[Any]:
    """AddPartitionsToTxn's (partition, code) pairs (the topic name is per cluster)."""
    return [(p, code) for _, p, code in add_partitions(wire, version, ask, **kw)]


def test_transaction_coordinator_codes_on_the_wire(clusters: tuple[Cluster, ...]) -> None:
    """Every misuse of InitProducerId / AddPartitionsToTxn / AddOffsetsToTxn / EndTxn and a
    transactional Produce outside the transaction, answered code for code as Kafka does,
    including the versions before and after PRODUCER_FENCED."""

    def scenario(cluster: Cluster) -> list[Any]:
        topic = unique_topic("txn-codes")
        create_topic(cluster, topic, partitions=2)
        wire = TxnWire(cluster.bootstrap, f"codes-{uuid.uuid4().hex[:8]}")
        out: list[Any] = [wire.find_coordinator()]
        out.append(wire.init(version=3, timeout_ms=900_001))
        out.append((wire.init(version=3), wire.epoch))
        out.append(wire.end(commit=True))
        out.append(sorted(parts(wire, 1, {topic: [0, 9]})))
        out.append(parts(wire, 1, {topic: [0]}, epoch=5))
        out.append(parts(wire, 2, {topic: [0]}, epoch=5))
        out.append(parts(wire, 3, {topic: [0]}))
        out.append(produce_txn(wire, topic, 0))
        out.append(produce_txn(wire, topic, 1, seq=0))
        out.append([wire.end(commit=True), wire.end(commit=True), wire.end(commit=False)])
        pid, epoch = wire.producer_id, wire.epoch
        wire.epoch = epoch + 1
        out.append([wire.end(True, version=1), wire.end(True, version=2)])
        out.append([wire.add_offsets("g", version=1), wire.add_offsets("g", version=2)])
        wire.producer_id, wire.epoch = pid + 1, epoch
        out.append(wire.end(commit=True))
        wire.producer_id = pid
        # A second incarnation while a transaction is open: the first is aborted and
        # fenced, the second gets the epoch after the fencing one.
        out.append(parts(wire, 3, {topic: [1]}))
        second = TxnWire(cluster.bootstrap, wire.transactional_id)
        out.append((second.init(version=4), second.producer_id == pid, second.epoch))
        out.append([wire.end(True, version=1), wire.end(True, version=2)])
        wire.close()
        second.close()
        return out

    assert_same(observe(clusters, scenario))
