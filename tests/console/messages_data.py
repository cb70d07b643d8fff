"""Known data for the message-browser and live-tail tests: a topic whose every record we know.

Owns creating a uniquely named topic on a real cluster and filling it with `KNOWN`: 30
records over 2 partitions, explicit timestamps one second apart, JSON, text and binary
values, keys, and headers. It must never talk to anything but the cluster it is given.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.console.groups_helpers import DEFAULT_COPIES

BASE_TS = 1_700_000_000_000  # 2023-11-14T22:13:20Z
COUNT = 30
PARTITIONS = 2


@dataclass(frozen=True)
class Known:
    index: int
    partition: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


def _value(i: int) -> bytes | None:
    if i == 7:
        return b"\x00\x01\xfe\xff binary"
    if i == 11:
        return None
    if i % 5 == 4:
        return f"plain text line {i}".encode()
    doc = {"id": i, "kind": "even" if i % 2 == 0 else "odd", "tags": [f"t{i % 3}"]}
    doc["customer"] = {"name": f"customer-{i}", "vip": i % 10 == 0}
    return json.dumps(doc).encode()


KNOWN: tuple[Known, ...] = tuple(
    Known(
        index=i,
        partition=i % PARTITIONS,
        timestamp=BASE_TS + i * 1000,
        key=None if i == 3 else f"key-{i}".encode(),
        value=_value(i),
        headers=(("trace", f"tr-{i}".encode()),) if i % 6 == 0 else (),
    )
    for i in range(COUNT)
)


def in_partition(p: int) -> list[Known]:
    return [k for k in KNOWN if k.partition == p]


def offset_of(known: Known) -> int:
    """Records are produced in index order, so a partition's offsets follow that order."""
    return in_partition(known.partition).index(known)


def create_topic(bootstrap: str, partitions: int = PARTITIONS, prefix: str = "msgs") -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    # Kept forever: KNOWN's timestamps are from 2023, and a 7-day retention would (rightly)
    # delete them as soon as the broker next checks. As many copies as the cluster's default.
    topic = NewTopic(name, partitions, DEFAULT_COPIES, config={"retention.ms": "-1"})
    futures = admin.create_topics([topic], operation_timeout=10)
    futures[name].result(timeout=15)
    return name


def fill_known(bootstrap: str, topic: str) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for k in KNOWN:
        extra = {"headers": list(k.headers)} if k.headers else {}
        producer.produce(
            topic, value=k.value, key=k.key, partition=k.partition, timestamp=k.timestamp, **extra
        )
    assert producer.flush(15) == 0, "the known records were not all acknowledged"


def known_topic(bootstrap: str) -> str:
    topic = create_topic(bootstrap)
    fill_known(bootstrap, topic)
    return topic
