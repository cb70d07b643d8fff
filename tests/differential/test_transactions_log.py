"""Differential: the log side of transactions, byte-level where clients hide it.

Real confluent-kafka transactional producers write committed, aborted and open
transactions into one partition of each cluster; raw Fetch and ListOffsets then compare
what Kafka and Odradek say at both isolation levels: high watermark and last stable
offset, the aborted-transaction list (Kafka's coarse bound included), where the markers
sit, ListOffsets latest / by timestamp / max timestamp, and DescribeProducers (without
its wall-clock LastTimestamp). Producer ids differ between
clusters, so they are replaced by their order of first appearance in the log.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Producer

from logstore.records import iter_headers
from tests.clusters import Cluster
from tests.differential.harness import (
    QUIET,
    TIMEOUT,
    assert_same,
    create_topic,
    observe,
    unique_topic,
)
from tests.logstore.broker.fetch_wire import (
    aborted,
    describe_producers,
    fetch_partition,
    list_offset,
)
from tests.logstore.broker.wire import Wire

pytestmark = pytest.mark.kafka

COMMITTED, UNCOMMITTED = 1, 0
LATEST, MAX_TIMESTAMP = -1, -3


def _txn_producer(cluster: Cluster) -> Producer:
    producer = Producer(
        {
            "bootstrap.servers": cluster.bootstrap,
            "transactional.id": f"diff-txn-{uuid.uuid4().hex[:8]}",
            "linger.ms": 0,
            **QUIET,
        }
    )
    producer.init_transactions(TIMEOUT)
    return producer


def _send(producer: Producer, topic: str, values: list[tuple[bytes, int]]) -> None:
    for value, ts in values:
        producer.produce(topic, value=value, partition=0, timestamp=ts)
    assert producer.flush(TIMEOUT) == 0


def _batches(wire: Wire, topic: str) -> list[tuple[int, bool, int]]:
    """(base offset, is control, producer id) of every batch, read_uncommitted."""
    out: list[tuple[int, bool, int]] = []
    offset = 0
    while True:
        p = fetch_partition(wire, topic, 12, UNCOMMITTED, offset)
        headers = [h for _, h in iter_headers(p.records or b"")]
        if not headers:
            return out
        out += [(h.base_offset, h.is_control, h.producer_id) for h in headers]
        offset = headers[-1].next_offset


def _settled(wire: Wire, topic: str, markers: int) -> list[tuple[int, bool, int]]:
    """The log's batches once `markers` markers are in (Kafka writes them after EndTxn)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        batches = _batches(wire, topic)
        if sum(1 for b in batches if b[1]) >= markers or time.monotonic() > deadline:
            return batches
        time.sleep(0.05)


def _stamp(ts: int, base: int) -> int | str:
    """Data timestamps relative to the scenario's base; markers carry the broker's clock."""
    return ts - base if base <= ts < base + 100_000 else ("none" if ts < 0 else "marker")


def _look(wire: Wire, topic: str, markers: int, base: int) -> dict[str, Any]:
    batches = _settled(wire, topic, markers)
    order: dict[int, int] = {}
    for _, _, pid in batches:
        if pid >= 0:
            order.setdefault(pid, len(order))

    def names(found: list[tuple[int, int]] | None) -> list[tuple[int, int]] | None:
        return None if found is None else [(order.get(p, -1), first) for p, first in found]

    seen: dict[str, Any] = {
        "batches": [(offset, control, order.get(pid, -1)) for offset, control, pid in batches]
    }
    for version in (4, 12):
        for isolation in (COMMITTED, UNCOMMITTED):
            for start in sorted({0, *(b[0] for b in batches)}):
                p = fetch_partition(wire, topic, version, isolation, start)
                seen[f"fetch v{version} iso{isolation} @{start}"] = (
                    p.error_code,
                    p.high_watermark,
                    p.last_stable_offset,
                    names(aborted(p)),
                    [h.base_offset for _, h in iter_headers(p.records or b"")],
                )
    seen["describe_producers"] = sorted(
        (order.get(s.producer_id, -1), s.producer_epoch, s.last_sequence,
         s.coordinator_epoch, s.current_txn_start_offset)
        for s in describe_producers(wire, topic)
    )  # fmt: skip
    for isolation in (COMMITTED, UNCOMMITTED):
        for ts in (LATEST, MAX_TIMESTAMP, 500, 1500, 3500, 4500, 9000):
            for version in (2, 7):
                at = ts if ts < 0 else base + ts
                error, offset, stamp = list_offset(wire, topic, at, isolation, version)
                key = f"list_offsets v{version} iso{isolation} ts{ts}"
                seen[key] = (error, offset, _stamp(stamp, base))
    return seen


def _scenario(cluster: Cluster) -> list[dict[str, Any]]:
    topic = unique_topic("txnlog")
    create_topic(cluster, topic)
    first = _txn_producer(cluster)
    second = _txn_producer(cluster)
    plain = Producer({"bootstrap.servers": cluster.bootstrap, **QUIET})
    host = cluster.bootstrap
    base = int(time.time() * 1000) - 3_600_000  # recent: no segment.ms roll, no rejection
    first.begin_transaction()
    _send(first, topic, [(b"c0", base + 1000), (b"c1", base + 1001), (b"c2", base + 1002)])
    first.commit_transaction(TIMEOUT)
    first.begin_transaction()
    _send(first, topic, [(b"a0", base + 2000), (b"a1", base + 2001)])
    first.abort_transaction(TIMEOUT)
    second.begin_transaction()
    _send(second, topic, [(b"o0", base + 3000), (b"o1", base + 3001)])  # left open for now
    _send(plain, topic, [(b"p0", base + 4000)])
    first.begin_transaction()
    _send(first, topic, [(b"late-abort", base + 5000)])
    first.abort_transaction(TIMEOUT)
    with Wire(host) as wire:
        open_view = _look(wire, topic, 3, base)
    second.commit_transaction(TIMEOUT)
    with Wire(host) as wire:
        closed_view = _look(wire, topic, 4, base)
    return [open_view, closed_view]


def test_lso_aborted_lists_markers_and_list_offsets(clusters: tuple[Cluster, ...]) -> None:
    seen = observe(clusters, _scenario)
    open_view = seen["kafka"][0]
    # The scenario means what it says on the reference: an open transaction holds the LSO.
    high, lso = open_view["fetch v12 iso1 @0"][1:3]
    assert lso < high
    assert_same(seen)
