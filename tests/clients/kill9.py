"""Shared by the idempotent-producer tests: a thread that `kill -9`s and restarts the broker
at acknowledgement marks, and the exactly-once check of what the log holds afterwards."""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

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


def create_topic(bootstrap: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(10)


def assert_exactly_once(bootstrap: str, topic: str, acked: dict[int, int]) -> None:
    """Every acknowledged value is in the log once, on its partition, in order."""
    got = read_all(bootstrap, topic, TOTAL)
    values = [v for vs in got.values() for v in vs]
    assert len(values) == len(set(values)), "a retried batch was appended twice"
    assert set(values) >= set(acked), "an acknowledged record is missing"
    for partition, vs in got.items():
        assert vs == sorted(vs), f"partition {partition} out of order"
        assert all(acked.get(v) == partition for v in vs)
