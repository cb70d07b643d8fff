"""Transactions written by real clients, then `kill -9`: the LSO, the aborted list and
read_committed reads come back the same after the restart."""

from __future__ import annotations

import uuid

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.broker_fixture import BrokerProcess
from tests.logstore.broker.fetch_wire import aborted, batch_offsets, fetch_partition, list_offset
from tests.logstore.broker.wire import Wire

TIMEOUT = 30.0
QUIET = {"log_level": 3}


def _txn_producer(bootstrap: str) -> Producer:
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "transactional.id": f"kill9-{uuid.uuid4().hex[:8]}",
            "linger.ms": 0,
            **QUIET,
        }
    )
    producer.init_transactions(TIMEOUT)
    return producer


def _send(producer: Producer, topic: str, values: list[bytes]) -> None:
    for value in values:
        producer.produce(topic, value=value, partition=0)
    assert producer.flush(TIMEOUT) == 0


def _view(bootstrap: str, topic: str) -> tuple:
    with Wire(bootstrap) as wire:
        committed = fetch_partition(wire, topic, 12, 1, 0)
        uncommitted = fetch_partition(wire, topic, 12, 0, 0)
        return (
            committed.high_watermark,
            committed.last_stable_offset,
            aborted(committed),
            batch_offsets(committed.records),
            batch_offsets(uncommitted.records),
            list_offset(wire, topic, -1, 1),
        )


def test_transaction_state_after_kill9(broker: BrokerProcess) -> None:
    topic = f"kill9-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": broker.bootstrap, **QUIET})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(TIMEOUT)
    first = _txn_producer(broker.bootstrap)
    second = _txn_producer(broker.bootstrap)
    first.begin_transaction()
    _send(first, topic, [b"c0", b"c1"])
    first.commit_transaction(TIMEOUT)
    first.begin_transaction()
    _send(first, topic, [b"a0", b"a1"])
    first.abort_transaction(TIMEOUT)
    second.begin_transaction()
    _send(second, topic, [b"open"])  # still open when the broker dies
    before = _view(broker.bootstrap, topic)
    high, lso, aborted_list, committed_batches, _, latest = before
    assert lso < high
    assert latest == (0, lso, -1)
    assert [first_offset for _, first_offset in aborted_list] == [3]
    assert all(offset < lso for offset, _ in committed_batches)
    broker.kill9()
    broker.start()
    assert _view(broker.bootstrap, topic) == before
