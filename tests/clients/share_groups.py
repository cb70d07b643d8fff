"""Shared by the share-group client tests: a group configured through the admin client,
explicit-acknowledgement share consumers and a polling loop that acknowledges by rule.

It must never talk to the broker except through confluent-kafka's public API.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from confluent_kafka import AcknowledgeType, Message, Producer, ShareConsumer
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource
from confluent_kafka.admin import ResourceType as AdminResource

DEADLINE_S = 30.0
# What a test does with each record: an AcknowledgeType, or None to hold it unacknowledged.
Decide = Callable[[Message], "AcknowledgeType | None"]


def configure_group(bootstrap: str, **configs: str) -> str:
    """A fresh share-group id with `share.auto.offset.reset=earliest` and `configs` set
    (keyword names use _ for .)."""
    group = f"share-{uuid.uuid4().hex[:10]}"
    entries = {"share.auto.offset.reset": "earliest"}
    entries |= {k.replace("_", "."): v for k, v in configs.items()}
    resource = ConfigResource(
        AdminResource.GROUP,
        group,
        incremental_configs=[
            ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
            for k, v in entries.items()
        ],
    )
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(10)
    return group


def produce_values(bootstrap: str, topic: str, values: range, partitions: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in values:
        producer.produce(topic, value=str(i).encode(), partition=i % partitions)
    assert producer.flush(20) == 0


def share_consumer(bootstrap: str, group: str, topic: str) -> ShareConsumer:
    consumer = ShareConsumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "share.acknowledgement.mode": "explicit",
        }
    )
    consumer.subscribe([topic])
    return consumer


def poll_once(consumer: ShareConsumer, decide: Decide, timeout: float = 0.2) -> list[Message]:
    """One poll; each record is acknowledged as `decide` says, then committed."""
    got = []
    for msg in consumer.poll(timeout) or []:
        if msg.error():
            continue
        got.append(msg)
        ack = decide(msg)
        if ack is not None:
            consumer.acknowledge(msg, ack)
    if got:
        consumer.commit_sync()
    return got


def consume_until(
    consumers: list[ShareConsumer], decide: Decide, done: Callable[[list[Message]], bool]
) -> list[Message]:
    """Poll every consumer in turn until `done(all records so far)`."""
    seen: list[Message] = []
    deadline = time.monotonic() + DEADLINE_S
    while not done(seen):
        assert time.monotonic() < deadline, f"timed out with {len(seen)} records"
        for consumer in consumers:
            seen += poll_once(consumer, decide)
    return seen


def quiet_for(consumers: list[ShareConsumer], seconds: float) -> list[Message]:
    """Everything delivered while polling for `seconds` (accepted)."""
    seen: list[Message] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for consumer in consumers:
            seen += poll_once(consumer, lambda m: AcknowledgeType.ACCEPT)
    return seen


def values(messages: list[Message]) -> list[int]:
    return sorted(int(m.value()) for m in messages)
