"""A kafka-python producer (idempotent by default) across several `kill -9` broker restarts.

The producer keeps sending while the test kills the broker (SIGKILL) and starts it again
on the same port and data dir. Batches in flight at the kill are retried by the client;
the broker must acknowledge retries of batches it already appended with their original
offsets (producer state rebuilt on restart), so consuming afterwards finds every
acknowledged record exactly once, in order per partition.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaProducer

from tests.clients.messages import unique_topic

PARTITIONS = 3
TOTAL = 3000
KILL_AT = (600, 1400, 2200)


class Killer(threading.Thread):
    """Crashes and restarts the broker each time the acknowledged count passes a mark."""

    def __init__(self, broker, acked_count) -> None:
        super().__init__(daemon=True)
        self.broker = broker
        self.acked_count = acked_count
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            deadline = time.monotonic() + 120
            for mark in KILL_AT:
                while self.acked_count() < mark:
                    assert time.monotonic() < deadline, f"stuck before {mark} acks"
                    time.sleep(0.001)  # watching another thread's progress
                self.broker.kill9()
                self.broker.restart(same_port=True)
        except BaseException as exc:
            self.error = exc

    def join(self, timeout: float | None = 120) -> None:
        super().join(timeout)
        assert not self.is_alive()
        if self.error is not None:
            raise self.error


def read_all(bootstrap: str, topic: str, expect_at_least: int) -> dict[int, list[int]]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    got: dict[int, list[int]] = defaultdict(list)
    idle = 0
    while idle < 20 or sum(map(len, got.values())) < expect_at_least:
        msg = consumer.poll(0.25)
        if msg is None:
            idle += 1
            assert idle < 200, "the log stopped short of the acknowledged records"
            continue
        assert msg.error() is None, msg.error()
        idle = 0
        got[msg.partition()].append(int(msg.value()))
    consumer.close()
    return got


def test_no_duplicate_and_no_gap_across_kill9_restarts(broker) -> None:
    topic = unique_topic("idem-kp")
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(10)
    acked: dict[int, int] = {}  # value -> partition
    producer = KafkaProducer(
        bootstrap_servers=broker.bootstrap,
        acks="all",
        linger_ms=2,
        batch_size=400,  # ~20 records per batch: many batches in flight
        reconnect_backoff_ms=50,
        reconnect_backoff_max_ms=500,
        delivery_timeout_ms=120_000,
        request_timeout_ms=10_000,
    )
    assert producer.config["enable_idempotence"], "kafka-python 3 is idempotent by default"
    futures = {}
    done: list[int] = []  # appended by the sender thread as acknowledgements arrive
    killer = Killer(broker, lambda: len(done))
    for i in range(TOTAL):
        futures[i] = producer.send(topic, value=str(i).encode(), partition=i % PARTITIONS)
        futures[i].add_callback(lambda meta: done.append(meta.offset))
    # Deliveries run while the killer thread crashes the broker with batches in flight.
    producer.flush(120)
    killer.join()
    for i, fut in futures.items():
        acked[i] = fut.get(timeout=1).partition
    producer.close()
    assert len(acked) == TOTAL

    got = read_all(broker.bootstrap, topic, TOTAL)
    values = [v for vs in got.values() for v in vs]
    assert len(values) == len(set(values)), "a retried batch was appended twice"
    assert set(values) >= set(acked), "an acknowledged record is missing"
    for partition, vs in got.items():
        assert vs == sorted(vs), f"partition {partition} out of order"
        assert all(acked.get(v) == partition for v in vs)
