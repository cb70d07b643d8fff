"""Kafka's VerifiableProducer and VerifiableConsumer against each cluster: no loss, no dups.

The Java client is the reference implementation; these are the tools Kafka's own system
tests use. acks=all with the Java producer's default idempotence, then a consumer group
(classic and KIP-848) reading everything back with commits.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter

import pytest

from tests.clusters import Cluster
from tests.differential.harness import create_topic
from tests.java.verifiable import (
    ToolProcess,
    consumer_process,
    named,
    verifiable_consumer,
    verifiable_producer,
)

COUNT = 3000
PARTITIONS = 3


def produce_all(cluster: Cluster, topic: str) -> dict[int, list[int]]:
    """Produce COUNT values with acks=all; partition -> acked offsets, checked dense."""
    events = verifiable_producer(cluster.bootstrap, topic, COUNT)
    errors = named(events, "producer_send_error")
    assert errors == [], errors[:5]
    acked = named(events, "producer_send_success")
    assert sorted(int(e["value"]) for e in acked) == list(range(COUNT))
    (summary,) = named(events, "tool_data")
    assert (summary["sent"], summary["acked"]) == (COUNT, COUNT)
    offsets: dict[int, list[int]] = {}
    for event in acked:
        offsets.setdefault(event["partition"], []).append(event["offset"])
    for partition, seen in offsets.items():
        # Offsets of acknowledged writes are unique and leave no gaps.
        assert sorted(seen) == list(range(len(seen))), partition
    return offsets


@pytest.mark.parametrize("protocol", ["classic", "consumer"])
def test_produce_then_consume_in_group(cluster: Cluster, protocol: str) -> None:
    topic = f"verifiable-{protocol}-{uuid.uuid4().hex[:8]}"
    create_topic(cluster, topic, partitions=PARTITIONS)
    offsets = produce_all(cluster, topic)
    assert len(offsets) == PARTITIONS  # --repeating-keys spreads the keys over all

    group = f"verifiable-{uuid.uuid4().hex[:8]}"
    events = verifiable_consumer(cluster.bootstrap, topic, group, COUNT, protocol)
    assert named(events, "unparsed") == []
    records = named(events, "record_data")
    values = Counter(int(r["value"]) for r in records)
    duplicates = [v for v, n in values.items() if n > 1]
    assert duplicates == []
    assert sorted(values) == list(range(COUNT)), "records lost"
    per_partition = Counter(r["partition"] for r in records)
    assert per_partition == Counter({p: len(o) for p, o in offsets.items()})
    assert named(events, "partitions_assigned"), "the consumer never joined the group"
    commits = named(events, "offsets_committed")
    assert commits, "no offsets_committed event"
    assert [c for c in commits if not c["success"]] == []
    final: dict[int, int] = {}
    for commit in commits:
        for entry in commit["offsets"]:
            final[entry["partition"]] = max(final.get(entry["partition"], 0), entry["offset"])
    assert final == {p: len(o) for p, o in offsets.items()}


TOTAL = 5000


def test_two_consumers_rebalance_while_producing(cluster: Cluster) -> None:
    """Two group members join one after the other while a throttled producer writes;
    together they read every acknowledged record, none twice (eager rebalances commit
    on revocation), and each ends up with some partitions."""
    topic = f"verifiable-pair-{uuid.uuid4().hex[:8]}"
    create_topic(cluster, topic, partitions=PARTITIONS)
    group = f"verifiable-pair-{uuid.uuid4().hex[:8]}"
    first = consumer_process(cluster.bootstrap, topic, group)
    second: ToolProcess | None = None
    try:
        # The producer runs ~5 s; the second member joins once the first is reading.
        produced: list[dict[str, object]] = []
        producer = threading.Thread(
            target=lambda: produced.extend(
                verifiable_producer(cluster.bootstrap, topic, TOTAL, throughput=1000)
            )
        )
        producer.start()
        deadline = time.monotonic() + 60
        while not named(first.events, "record_data") and time.monotonic() < deadline:
            time.sleep(0.05)  # polling another process's output, not letting time pass
        second = consumer_process(cluster.bootstrap, topic, group)
        while not named(second.events, "partitions_assigned") and time.monotonic() < deadline:
            time.sleep(0.05)  # polling the second member's output until it joins
        producer.join(timeout=120)
        acked = {int(str(e["value"])) for e in named(produced, "producer_send_success")}
        assert len(acked) == TOTAL
        while time.monotonic() < deadline:
            got = {
                int(r["value"])
                for tool in (first, second)
                for r in named(tool.events, "record_data")
            }
            if got >= acked:
                break
            time.sleep(0.05)  # polling the consumers' output, bounded by the deadline
    finally:
        first_events = first.stop()
        second_events = second.stop() if second is not None else []
    values = Counter(
        int(r["value"])
        for events in (first_events, second_events)
        for r in named(events, "record_data")
    )
    assert sorted(values) == sorted(acked), "records lost"
    assert [v for v, n in values.items() if n > 1] == []
    assert named(second_events, "partitions_assigned"), "second member never got partitions"
