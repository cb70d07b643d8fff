"""Kafka's VerifiableProducer and VerifiableConsumer against each cluster: no loss, no dups.

The Java client is the reference implementation; these are the tools Kafka's own system
tests use. acks=all with the Java producer's default idempotence, then a consumer group
(classic and KIP-848) reading everything back with commits.
"""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from tests.clusters import Cluster
from tests.differential.harness import create_topic
from tests.java.verifiable import named, verifiable_consumer, verifiable_producer

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
