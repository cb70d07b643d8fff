"""Differential: transaction markers and aborted data under compaction.

On a compacted topic (`delete.retention.ms=0`, `segment.ms=100`, dirty ratio 0.01) two
confluent-kafka transactional producers write committed and aborted transactions and a
plain producer a value and its tombstone; then the plain producer appends one filler record at a time (always the same key, past the
scripted offsets) so segments roll and the cleaner runs again and again. Once the
scripted part reaches the shape Kafka's rules give (or the time is up), what each broker
keeps of it is compared: every batch's offset, control flag, producer (by order of
appearance), record count and delete-horizon flag, the markers' types and coordinator
epochs, the records left, and what a read_committed fetch says (LSO, aborted list).

Kafka's cleaner waits `log.cleaner.backoff.ms` (15 s) between runs; the scenario lowers
it on the reference (a dynamic broker config) and puts it back.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

from logstore.records import decode_records, iter_headers
from logstore.records.control import read_marker
from tests.clusters import Cluster
from tests.differential.harness import (
    QUIET,
    TIMEOUT,
    admin,
    assert_same,
    create_topic,
    observe,
    unique_topic,
)
from tests.logstore.broker.fetch_wire import aborted, fetch_partition
from tests.logstore.broker.wire import Wire

pytestmark = pytest.mark.kafka

COMMITTED, UNCOMMITTED = 1, 0
BACKOFF = "log.cleaner.backoff.ms"
CONFIG = {
    "cleanup.policy": "compact",
    "delete.retention.ms": "0",
    "segment.ms": "100",
    "min.cleanable.dirty.ratio": "0.01",
    "retention.ms": "-1",
}
SCRIPTED = 10  # offsets the transactions and a tombstone take; fillers come after
# Kafka's rules: t's first two transactions are gone (data superseded or aborted, then
# their markers after the horizon); t's last data batch and its marker stay; u's aborted
# data is u's last batch, so it stays emptied, and its abort marker with it; k9's value
# and then its tombstone (after the horizon) are gone.
SETTLED = [
    (4, False, 0, 1, False),
    (5, True, 0, 1, False),
    (6, False, 1, 0, False),
    (7, True, 1, 1, False),
]


@contextmanager
def _fast_cleaner(cluster: Cluster) -> Iterator[None]:
    """Kafka's cleaner backs off 15 s between runs: 200 ms while the scenario runs."""
    if not cluster.is_kafka:
        yield
        return
    client = admin(cluster)
    node = str(next(iter(client.list_topics(timeout=TIMEOUT).brokers)))

    def alter(value: str | None, op: AlterConfigOpType) -> None:
        entry = ConfigEntry(BACKOFF, value, incremental_operation=op)
        resource = ConfigResource(ResourceType.BROKER, node, incremental_configs=[entry])
        client.incremental_alter_configs([resource])[resource].result(timeout=TIMEOUT)

    alter("200", AlterConfigOpType.SET)
    try:
        yield
    finally:
        alter(None, AlterConfigOpType.DELETE)


def txn_producer(cluster: Cluster, transactional_id: str | None = None) -> Producer:
    producer = Producer(
        {
            "bootstrap.servers": cluster.bootstrap,
            "transactional.id": transactional_id or f"diff-txn-{uuid.uuid4().hex[:8]}",
            "linger.ms": 0,
            **QUIET,
        }
    )
    producer.init_transactions(TIMEOUT)
    return producer


def batches_below(wire: Wire, topic: str, end: int) -> list[tuple[Any, bytes]]:
    """(header, bytes) of every batch below `end`, read_uncommitted."""
    out: list[tuple[Any, bytes]] = []
    offset = 0
    while offset < end:
        data = fetch_partition(wire, topic, 12, UNCOMMITTED, offset).records or b""
        found = [(h, data[pos : pos + h.size]) for pos, h in iter_headers(data)]
        if not found:
            break
        out += [(h, raw) for h, raw in found if h.base_offset < end]
        offset = found[-1][0].next_offset
    return out


def one_record_txn(
    wire: Wire, producer: Producer, topic: str, key: bytes, value: bytes, commit: bool
) -> None:
    """One transaction of one record; returns once its marker is in the log (Kafka
    writes markers after answering EndTxn, and the next step must come after it)."""
    markers = sum(1 for h, _ in batches_below(wire, topic, 1 << 62) if h.is_control)
    producer.begin_transaction()
    producer.produce(topic, key=key, value=value, partition=0)
    assert producer.flush(TIMEOUT) == 0  # an abort would otherwise drop it unsent
    if commit:
        producer.commit_transaction(TIMEOUT)
    else:
        producer.abort_transaction(TIMEOUT)
    deadline = time.monotonic() + TIMEOUT
    while sum(1 for h, _ in batches_below(wire, topic, 1 << 62) if h.is_control) <= markers:
        assert time.monotonic() < deadline, "the transaction marker never arrived"
        time.sleep(0.05)  # polling for the broker's marker write


def shape_of(batches: list[tuple[Any, bytes]]) -> list[tuple[int, bool, int, int, bool]]:
    order: dict[int, int] = {}
    for h, _ in batches:
        if h.producer_id >= 0:
            order.setdefault(h.producer_id, len(order))
    return [
        (
            h.base_offset,
            h.is_control,
            order.get(h.producer_id, -1),
            h.records_count,
            h.delete_horizon_ms is not None,
        )
        for h, _ in batches
    ]


def markers_of(batches: list[tuple[Any, bytes]]) -> list[tuple[int, int, int]]:
    """(offset, ABORT 0 / COMMIT 1, coordinator epoch) of every marker with its record:
    Kafka writes the `__transaction_state` partition's leader epoch there."""
    return [
        (h.base_offset, *read_marker(raw)) for h, raw in batches if h.is_control and h.records_count
    ]


def compacted_history(cluster: Cluster) -> tuple[str, list[Any], list[Any]]:
    """Write the scripted history to a new compacted topic, then fillers until it settles:
    (topic, its batches below SCRIPTED before the first cleaning, and once settled)."""
    topic = unique_topic("txncompact")
    create_topic(cluster, topic, config=CONFIG)
    t, u = txn_producer(cluster), txn_producer(cluster)
    plain = Producer({"bootstrap.servers": cluster.bootstrap, "linger.ms": 0, **QUIET})
    with _fast_cleaner(cluster), Wire(cluster.bootstrap) as wire:
        one_record_txn(wire, t, topic, b"k1", b"a", commit=True)  # 0, marker 1
        one_record_txn(wire, t, topic, b"k2", b"x", commit=False)  # 2, marker 3
        one_record_txn(wire, t, topic, b"k1", b"b", commit=True)  # 4, marker 5
        one_record_txn(wire, u, topic, b"k3", b"y", commit=False)  # 6, marker 7
        for value in (b"v", None):  # 8, 9
            plain.produce(topic, key=b"k9", value=value, partition=0)
            assert plain.flush(TIMEOUT) == 0
        first = batches_below(wire, topic, SCRIPTED)
        deadline = time.monotonic() + 90
        while True:
            plain.produce(topic, key=b"filler", value=b"f", partition=0)
            assert plain.flush(TIMEOUT) == 0
            batches = batches_below(wire, topic, SCRIPTED)
            if shape_of(batches) == SETTLED or time.monotonic() > deadline:
                return topic, first, batches
            time.sleep(0.3)  # real segment.ms rolls and cleaner runs on both brokers


def _scenario(cluster: Cluster) -> dict[str, Any]:
    topic, first, batches = compacted_history(cluster)
    with Wire(cluster.bootstrap) as wire:
        fetched = fetch_partition(wire, topic, 12, COMMITTED, 0)
    names = {pid: i for i, pid in enumerate(dict.fromkeys(h.producer_id for h, _ in batches))}
    return {
        "before": shape_of(first),
        "markers before": markers_of(first),
        "markers after": markers_of(batches),
        "after": shape_of(batches),
        "records": [
            (r.offset, r.key, r.value)
            for h, raw in batches
            if not h.is_control
            for r in decode_records(raw)
        ],
        "lso is the high watermark": fetched.last_stable_offset == fetched.high_watermark,
        "aborted": [(names.get(p, -1), first) for p, first in aborted(fetched) or []],
    }


def test_markers_and_aborted_data_under_compaction(clusters: tuple[Cluster, ...]) -> None:
    seen = observe(clusters, _scenario)
    kafka = seen["kafka"]
    # The reference settled as the scenario says (else the comparison proves little).
    assert kafka["after"] == SETTLED
    assert kafka["before"][-2:] == [(8, False, -1, 1, False), (9, False, -1, 1, False)]
    assert kafka["aborted"] == [(1, 6)]
    assert kafka["markers before"] == [(1, 1, 0), (3, 0, 0), (5, 1, 0), (7, 0, 0)]
    assert_same(seen)
