"""Helpers for the consumer-group tests: topics kept forever, records with chosen
timestamps, groups moved to a known position by really consuming, and reading back where
a group would start."""

from __future__ import annotations

import time
import uuid
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from console.kafka.config import ClusterConfig, bare

TIMEOUT = 20.0
# CreateTopics' "the broker's default.replication.factor".
DEFAULT_COPIES = -1


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def conf(bootstrap: str) -> dict[str, Any]:
    return {"bootstrap.servers": bootstrap, "log_level": 0}


def cluster(bootstrap: str) -> ClusterConfig:
    """The gateway's view of a test cluster, with the tests' patient timeout."""
    return bare(bootstrap, timeout_s=5.0)


def make_topic(bootstrap: str, partitions: int = 1) -> str:
    """A fresh topic that keeps records forever (the tests use old timestamps), with the
    cluster's default number of copies: one on a single broker, three on three nodes."""
    name = unique("grp-t")
    admin = AdminClient(conf(bootstrap))
    topic = NewTopic(name, partitions, DEFAULT_COPIES, config={"retention.ms": "-1"})
    futures = admin.create_topics([topic])
    futures[name].result(timeout=TIMEOUT)
    return name


def produce(bootstrap: str, topic: str, partition: int, timestamps: list[int]) -> None:
    """One record per timestamp, value "p<partition>-<i>"."""
    producer = Producer({**conf(bootstrap), "linger.ms": 0})
    for i, ts in enumerate(timestamps):
        producer.produce(
            topic, value=f"p{partition}-{i}".encode(), partition=partition, timestamp=ts
        )
    assert producer.flush(TIMEOUT) == 0


def consume_to(bootstrap: str, group: str, topic: str, positions: dict[int, int]) -> None:
    """Read `positions[p]` records of each partition as `group` and commit after them."""
    consumer = Consumer({**conf(bootstrap), "group.id": group, "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, 0) for p in positions])
    want = {p: n for p, n in positions.items() if n > 0}
    deadline = time.monotonic() + TIMEOUT
    while want and time.monotonic() < deadline:
        msg = consumer.poll(0.2)
        if msg is None or msg.error():
            continue
        p = msg.partition()
        if p in want and msg.offset() == positions[p] - 1:
            consumer.commit(message=msg, asynchronous=False)
            del want[p]
    consumer.close()
    assert not want, f"could not consume to {positions} on {topic}"


def first_records(bootstrap: str, group: str, topic: str, partitions: list[int]) -> dict[int, Any]:
    """The first record `group` would read on each partition (None when at the log end).

    A consumer assigned without an offset starts at the group's committed offset.
    """
    consumer = Consumer(
        {
            **conf(bootstrap),
            "group.id": group,
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "error",
        }
    )
    consumer.assign([TopicPartition(topic, p) for p in partitions])
    out: dict[int, Any] = {}
    deadline = time.monotonic() + TIMEOUT
    while len(out) < len(partitions) and time.monotonic() < deadline:
        msg = consumer.poll(0.2)
        if msg is None or msg.partition() in out:
            continue
        if msg.error():
            if msg.error().code() == -191:  # _PARTITION_EOF: nothing left to read
                out[msg.partition()] = None
            continue
        out[msg.partition()] = (msg.offset(), msg.value().decode())
    consumer.close()
    assert len(out) == len(partitions), f"no answer for some partitions of {topic}: {out}"
    return out


class Member:
    """A subscribed consumer that has joined `group` and holds its partitions."""

    def __init__(self, bootstrap: str, group: str, topic: str) -> None:
        self.consumer = Consumer(
            {
                **conf(bootstrap),
                "group.id": group,
                "enable.auto.commit": False,
                "client.id": "test-member",
                "session.timeout.ms": 10000,
            }
        )
        self.consumer.subscribe([topic])
        deadline = time.monotonic() + TIMEOUT
        while not self.consumer.assignment() and time.monotonic() < deadline:
            self.consumer.poll(0.2)
        assert self.consumer.assignment(), f"consumer never joined {group}"

    def close(self) -> None:
        self.consumer.close()
