"""confluent-kafka (librdkafka) transactions against a real broker: a committed
transaction visible to read_committed and an aborted one not (read_uncommitted sees
both), offsets sent with `send_offsets_to_transaction` committed only with it, and a
second producer with the same `transactional.id` fencing the first, and a transaction
left open past its timeout aborted by the broker."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.broker_fixture import start_broker
from tests.clients.messages import unique_topic
from tests.clients.txn_wire import TxnWire
from tests.logstore.transactions.test_txn_wire import SWEEP_ARGS, wait_for_state

TIMEOUT_S = 20.0


def create_topic(bootstrap: str, topic: str, partitions: int = 2) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(10)


def producer(bootstrap: str, tid: str, **extra: Any) -> Producer:
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": tid, **extra})
    p.init_transactions(TIMEOUT_S)
    return p


def values(bootstrap: str, topic: str, isolation: str, partitions: int = 2) -> list[str]:
    """Every value readable under `isolation`, up to the (stable) end of each partition."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"read-{topic}-{isolation}",
            "isolation.level": isolation,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    out: list[str] = []
    try:
        tps = [TopicPartition(topic, p, 0) for p in range(partitions)]
        consumer.assign(tps)
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(partitions)
        }
        positions = dict.fromkeys(range(partitions), 0)
        # The end offset counts the markers: reading is done once no data is left before it.
        idle = 0
        while idle < 3:
            msgs = consumer.consume(100, timeout=1.0)
            if not msgs:
                idle += 1
                continue
            for m in msgs:
                if m.error():
                    continue
                out.append(m.value().decode())
                positions[m.partition()] = m.offset() + 1
        assert all(positions[p] <= ends[p] for p in positions)
    finally:
        consumer.close()
    return sorted(out)


def test_commit_is_read_committed_and_abort_is_not(shared_broker) -> None:
    bootstrap = shared_broker.bootstrap
    topic = unique_topic("txn-ck")
    create_topic(bootstrap, topic)
    p = producer(bootstrap, f"{topic}-tx")
    p.begin_transaction()
    for i in range(10):
        p.produce(topic, value=f"c{i}".encode(), partition=i % 2)
    p.commit_transaction(TIMEOUT_S)
    p.begin_transaction()
    for i in range(5):
        p.produce(topic, value=f"a{i}".encode(), partition=i % 2)
    p.flush(TIMEOUT_S)
    p.abort_transaction(TIMEOUT_S)
    p.begin_transaction()
    p.produce(topic, value=b"c10", partition=0)
    p.commit_transaction(TIMEOUT_S)
    committed = sorted([f"c{i}" for i in range(11)])
    assert values(bootstrap, topic, "read_committed") == committed
    assert values(bootstrap, topic, "read_uncommitted") == sorted(
        committed + [f"a{i}" for i in range(5)]
    )


def test_offsets_sent_to_a_transaction_commit_only_with_it(shared_broker) -> None:
    bootstrap = shared_broker.bootstrap
    topic = unique_topic("txn-ck-off")
    group = f"{topic}-g"
    create_topic(bootstrap, topic)
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False}
    )
    metadata = consumer.consumer_group_metadata()
    p = producer(bootstrap, f"{topic}-tx")

    def committed() -> int:
        (tp,) = consumer.committed([TopicPartition(topic, 0)], timeout=10)
        return int(tp.offset)

    p.begin_transaction()
    p.produce(topic, value=b"x", partition=1)
    p.send_offsets_to_transaction([TopicPartition(topic, 0, 7)], metadata, TIMEOUT_S)
    p.abort_transaction(TIMEOUT_S)
    assert committed() < 0  # nothing committed
    p.begin_transaction()
    p.produce(topic, value=b"y", partition=1)
    p.send_offsets_to_transaction([TopicPartition(topic, 0, 9)], metadata, TIMEOUT_S)
    p.commit_transaction(TIMEOUT_S)
    assert committed() == 9
    consumer.close()


def test_a_second_producer_fences_the_first(shared_broker) -> None:
    bootstrap = shared_broker.bootstrap
    topic = unique_topic("txn-ck-fence")
    create_topic(bootstrap, topic)
    tid = f"{topic}-tx"
    first = producer(bootstrap, tid)
    first.begin_transaction()
    first.produce(topic, value=b"zombie", partition=0)
    first.flush(TIMEOUT_S)
    second = producer(bootstrap, tid)  # aborts the first one's open transaction
    with pytest.raises(KafkaException) as raised:
        first.commit_transaction(TIMEOUT_S)
    assert raised.value.args[0].fatal() or not raised.value.args[0].retriable()
    second.begin_transaction()
    second.produce(topic, value=b"live", partition=0)
    second.commit_transaction(TIMEOUT_S)
    assert values(bootstrap, topic, "read_committed") == ["live"]


def test_a_transaction_past_its_timeout_is_aborted_by_the_broker(tmp_path) -> None:
    broker = start_broker(tmp_path / "data", SWEEP_ARGS)
    try:
        bootstrap = broker.bootstrap
        topic = unique_topic("txn-ck-timeout")
        create_topic(bootstrap, topic)
        tid = f"{topic}-tx"
        p = producer(bootstrap, tid, **{"transaction.timeout.ms": 1000})
        p.begin_transaction()
        p.produce(topic, value=b"late", partition=0)
        p.flush(TIMEOUT_S)
        watcher = TxnWire(bootstrap, tid)
        assert wait_for_state(watcher, "CompleteAbort") == "CompleteAbort"
        watcher.close()
        with pytest.raises(KafkaException):
            p.commit_transaction(TIMEOUT_S)
        assert values(bootstrap, topic, "read_committed") == []
        assert values(bootstrap, topic, "read_uncommitted") == ["late"]
    finally:
        broker.stop()
