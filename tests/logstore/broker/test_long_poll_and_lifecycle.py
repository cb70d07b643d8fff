"""Fetch long polling woken by appends; graceful shutdown; acks=all survives kill -9."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, Producer, TopicPartition

from logstore.records import build_batch
from logstore.storage.checkpoints import CLEAN_SHUTDOWN
from tests.broker_fixture import BrokerProcess
from tests.clients.messages import unique_topic
from tests.logstore.broker.test_bad_input import (
    API_VERSIONS,
    FETCH,
    _create,
    _fetch,
    _produce,
    _send_fetch,
)
from tests.logstore.broker.test_handlers import _metadata
from tests.logstore.broker.wire import Wire


def test_fetch_waits_for_an_append_then_returns_it(shared_broker: BrokerProcess) -> None:
    topic = unique_topic("poll")
    with Wire(shared_broker.bootstrap, timeout=30) as w:
        assert _create(w, topic) == 0
        batch = build_batch([(b"k", b"woken")], timestamp=int(time.time() * 1000))
        # Park a fetch that may wait 20 s, prove the broker is idle-serving others (a round
        # trip on a second connection), then append: the fetch must return that batch.
        _send_fetch(w, topic, 0, max_wait=20_000, min_bytes=1)
        with Wire(shared_broker.bootstrap) as p:
            assert p.request(API_VERSIONS, 0).error_code == 0
            assert _produce(p, topic, batch) == 0
        part = w.read_response(FETCH, 11).responses[0].partitions[0]
        assert part.error_code == 0
        assert bytes(part.records)[12:] == batch[12:]


def test_fetch_with_nothing_to_wait_for_returns_empty_records(shared_broker: BrokerProcess) -> None:
    topic = unique_topic("poll-empty")
    with Wire(shared_broker.bootstrap) as w:
        assert _create(w, topic) == 0
        part = _fetch(w, topic, 0, max_wait=50, min_bytes=1)
        assert (part.error_code, part.high_watermark, part.records) == (0, 0, b"")


def _produce_all(bootstrap: str, topic: str, n: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 2})
    for i in range(n):
        producer.produce(topic, key=b"%d" % i, value=b"v%d" % i, partition=0)
    assert producer.flush(15) == 0


def _count(bootstrap: str, topic: str) -> tuple[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused"})
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, 0), 15)
    finally:
        consumer.close()


def test_sigterm_is_graceful_and_data_survives_restart(broker: BrokerProcess) -> None:
    topic = unique_topic("restart")
    with Wire(broker.bootstrap) as w:
        assert _create(w, topic) == 0
        topic_id = _metadata(w, topic, allow_create=False).topic_id
    _produce_all(broker.bootstrap, topic, 50)
    assert broker.stop() == 0
    assert "shut down cleanly" in broker.log()
    assert (broker.data_dir / CLEAN_SHUTDOWN).exists()
    broker.start()
    assert _count(broker.bootstrap, topic) == (0, 50)
    with Wire(broker.bootstrap) as w:
        assert _metadata(w, topic, allow_create=False).topic_id == topic_id  # stable id


def test_acks_all_data_survives_kill_9(broker: BrokerProcess) -> None:
    topic = unique_topic("crash")
    with Wire(broker.bootstrap) as w:
        assert _create(w, topic) == 0
    _produce_all(broker.bootstrap, topic, 200)
    broker.kill9()
    assert not (broker.data_dir / CLEAN_SHUTDOWN).exists()
    broker.start()
    low, high = _count(broker.bootstrap, topic)
    assert (low, high) == (0, 200)


def _answering(bootstrap: str) -> Wire:
    """A connection the broker accepted (retrying while it still counts closed ones)."""
    for _ in range(200):
        w = Wire(bootstrap)
        try:
            if w.request(API_VERSIONS, 0).error_code == 0:
                return w
        except ConnectionError:
            w.close()
    raise AssertionError("the broker never accepted a connection")


def test_connection_cap_refuses_extra_connections_only(tmp_path) -> None:
    from tests.broker_fixture import start_broker

    capped = start_broker(tmp_path / "capped", args=["--max-connections", "2"])
    try:
        # Closed connections (the readiness probe) free their slot asynchronously.
        first = _answering(capped.bootstrap)
        second = _answering(capped.bootstrap)
        with Wire(capped.bootstrap) as third:
            assert third.closed_by_peer()
        assert first.request(API_VERSIONS, 0).error_code == 0
        second.close()
        _answering(capped.bootstrap).close()  # the freed slot is reused
        first.close()
    finally:
        capped.stop()


def test_sigterm_during_produce_keeps_every_acknowledged_record(broker: BrokerProcess) -> None:
    topic = unique_topic("term")
    with Wire(broker.bootstrap) as w:
        assert _create(w, topic) == 0
    acked: list[int] = []
    producer = Producer(
        {
            "bootstrap.servers": broker.bootstrap,
            "acks": "all",
            "linger.ms": 1,
            "batch.num.messages": 50,
            "message.timeout.ms": 5000,
            "queue.buffering.max.messages": 500_000,
            "reconnect.backoff.max.ms": 100,
        }
    )

    def on_delivery(err: object, msg: object) -> None:
        if err is None:
            acked.append(msg.offset())  # type: ignore[attr-defined]

    total = 200_000  # far more than the broker takes in the moment before the stop
    for i in range(total):
        producer.produce(topic, b"v%d" % i, partition=0, on_delivery=on_delivery)
    # Once deliveries are flowing, stop while the rest are in flight; the broker must
    # finish what it accepted, and everything it acknowledged must be on disk.
    for _ in range(1000):
        producer.poll(0.01)
        if len(acked) >= 500:
            break
    assert len(acked) < total, "everything was acknowledged before the stop: nothing in flight"
    assert broker.stop() == 0
    producer.purge()  # what is left fails; reports already received stay in `acked`
    producer.flush(5)
    broker.start()
    low, high = _count(broker.bootstrap, topic)
    assert low == 0
    assert high >= max(acked) + 1


def test_port_in_use_is_a_readable_error(shared_broker: BrokerProcess, tmp_path) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "logstore", "serve", "--data-dir", str(tmp_path / "d"),
         "--listen", shared_broker.bootstrap],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "cannot serve on" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "d" / CLEAN_SHUTDOWN).exists()  # storage closed cleanly
