"""Kafka's TransactionalMessageCopier (the Java client's transactions, as Kafka's system
tests drive them) against each cluster: it copies a partition in transactions of 50,
aborting some at random and retrying them, sending its consumed offsets with each
transaction; a read_committed reader then finds every input exactly once in the output,
and the group's committed offset is the input's end."""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer, TopicPartition

from tests.clients.test_transactions_confluent import values
from tests.clusters import Cluster
from tests.differential.harness import create_topic, produce
from tests.java.verifiable import run_tool

COUNT = 500


def test_copier_copies_exactly_once_with_random_aborts(cluster: Cluster) -> None:
    run = uuid.uuid4().hex[:8]
    source, target, group = f"copy-in-{run}", f"copy-out-{run}", f"copy-{run}"
    create_topic(cluster, source, partitions=1)
    create_topic(cluster, target, partitions=1)
    produce(cluster, source, [{"value": f"v{i}".encode(), "partition": 0} for i in range(COUNT)])
    events, _ = run_tool(
        "TransactionalMessageCopier",
        [
            "--broker-list", cluster.bootstrap,
            "--input-topic", source,
            "--input-partition", "0",
            "--output-topic", target,
            "--consumer-group", group,
            "--transactional-id", f"copier-{run}",
            "--transaction-size", "50",
            "--enable-random-aborts",
            "--use-group-metadata",
        ],
    )  # fmt: skip
    stages = [e for e in events if "stage" in e]
    assert stages, events[-5:]
    assert stages[-1]["stage"] == "ShutdownComplete", stages[-3:]
    assert stages[-1]["totalProcessed"] == COUNT, stages[-3:]
    assert values(cluster.bootstrap, target, "read_committed", partitions=1) == sorted(
        f"v{i}" for i in range(COUNT)
    )
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group})
    (tp,) = consumer.committed([TopicPartition(source, 0)], timeout=10)
    consumer.close()
    assert tp.offset == COUNT
