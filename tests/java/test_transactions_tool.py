"""Kafka's `kafka-transactions.sh` (TransactionsCommand) lists and describes an open and a
committed transaction, and aborts a hanging one, the same way for Odradek as for Apache
Kafka (producer ids, node ids and times replaced: they are per cluster)."""

from __future__ import annotations

import re
import uuid

import pytest
from confluent_kafka import IsolationLevel, Producer, TopicPartition
from confluent_kafka.admin import OffsetSpec

from tests.clusters import Cluster, cluster_for
from tests.differential.harness import (
    QUIET,
    TIMEOUT,
    admin,
    assert_same,
    create_topic,
    observe,
    produce,
    read_partition,
    watermarks,
)
from tests.java.test_admin_tools import tool

pytestmark = pytest.mark.kafka


@pytest.fixture
def clusters(request: pytest.FixtureRequest) -> tuple[Cluster, Cluster]:
    return cluster_for(request, "kafka"), cluster_for(request, "odradek")


def _normalise(lines: list[str], names: dict[str, str]) -> list[str]:
    out = []
    for line in lines:
        for real, alias in names.items():
            line = line.replace(real, alias)
        out.append(re.sub(r"\s+", " ", re.sub(r"\b\d+\b", "<n>", line)).strip())
    return out


def test_list_and_describe(clusters: tuple[Cluster, Cluster]) -> None:
    def scenario(cluster: Cluster) -> dict[str, list[str]]:
        run = uuid.uuid4().hex[:8]
        topic, open_id, done_id = f"txtool-{run}", f"open-{run}", f"done-{run}"
        create_topic(cluster, topic, partitions=2)
        producers = {}
        for tid in (open_id, done_id):
            producer = Producer(
                {
                    "bootstrap.servers": cluster.bootstrap,
                    "transactional.id": tid,
                    "transaction.timeout.ms": 60_000,
                    **QUIET,
                }
            )
            producer.init_transactions(TIMEOUT)
            producer.begin_transaction()
            producer.produce(topic, b"v", partition=1)
            assert producer.flush(TIMEOUT) == 0
            producers[tid] = producer
        producers[done_id].commit_transaction(TIMEOUT)
        names = {
            topic: "<topic>",
            open_id: "<open>",
            done_id: "<done>",
            f"missing-{run}": "<missing>",
        }
        seen: dict[str, list[str]] = {}
        code, lines = tool("TransactionsCommand", "--bootstrap-server", cluster.bootstrap, "list")
        ours = sorted(_normalise([line for line in lines if run in line], names))
        seen["list"] = [str(code), *_normalise(lines[:1], names), *ours]
        for tid in (open_id, done_id, f"missing-{run}"):
            code, lines = tool(
                "TransactionsCommand",
                "--bootstrap-server",
                cluster.bootstrap,
                "describe",
                "--transactional-id",
                tid,
            )
            seen[tid.split("-")[0]] = [str(code), *_normalise(lines, names)]
        producers[open_id].abort_transaction(TIMEOUT)
        return seen

    assert_same(observe(clusters, scenario))


def _stable_offset(cluster: Cluster, topic: str) -> int:
    """ListOffsets latest with read_committed: the last stable offset of partition 0."""
    tp = TopicPartition(topic, 0)
    client = admin(cluster)  # kept: the futures need their client alive
    futures = client.list_offsets(
        {tp: OffsetSpec.latest()}, isolation_level=IsolationLevel.READ_COMMITTED
    )
    return int(futures[tp].result(TIMEOUT).offset)


def test_abort_ends_a_hanging_transaction(clusters: tuple[Cluster, Cluster]) -> None:
    ends_after_producer_abort: dict[str, int] = {}

    def scenario(cluster: Cluster) -> dict[str, object]:
        run = uuid.uuid4().hex[:8]
        topic = f"txabort-{run}"
        create_topic(cluster, topic, partitions=1)
        hanging = Producer(
            {
                "bootstrap.servers": cluster.bootstrap,
                "transactional.id": f"hang-{run}",
                "transaction.timeout.ms": 60_000,
                **QUIET,
            }
        )
        hanging.init_transactions(TIMEOUT)
        hanging.begin_transaction()
        hanging.produce(topic, b"hanging", partition=0)
        assert hanging.flush(TIMEOUT) == 0
        produce(cluster, topic, [{"value": b"after-1", "partition": 0}])
        produce(cluster, topic, [{"value": b"after-2", "partition": 0}])
        committed = {"isolation.level": "read_committed"}
        seen: dict[str, object] = {
            "before": read_partition(cluster, topic, 0, 0, 3, **committed),
            "lso before": _stable_offset(cluster, topic),
        }
        code, lines = tool(
            "TransactionsCommand",
            "--bootstrap-server",
            cluster.bootstrap,
            "abort",
            "--topic",
            topic,
            "--partition",
            "0",
            "--start-offset",
            "0",
        )
        seen["abort"] = [str(code), *_normalise(lines, {topic: "<topic>"})]
        records, errors = read_partition(cluster, topic, 0, 0, 3, **committed)
        seen["after"] = ([r[3] for r in records], errors)
        seen["lso after"] = _stable_offset(cluster, topic)
        seen["end after"] = watermarks(cluster, topic)[1]
        hanging.abort_transaction(TIMEOUT)
        ends_after_producer_abort[cluster.name] = watermarks(cluster, topic)[1]
        return seen

    seen = observe(clusters, scenario)
    assert_same(seen)
    kafka = seen["kafka"]
    assert kafka["before"] == ([], [])
    assert kafka["lso before"] == 0
    assert kafka["lso after"] == kafka["end after"] == 4
    assert kafka["after"] == ([b"after-1", b"after-2"], [])
    # The producer's own abort afterwards: Kafka writes a second marker, Odradek none
    # (docs/compatibility.md, WriteTxnMarkers).
    assert ends_after_producer_abort == {"kafka": 5, "odradek": 4}
