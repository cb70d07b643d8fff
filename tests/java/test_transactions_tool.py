"""Kafka's `kafka-transactions.sh` (TransactionsCommand) lists and describes an open and a
committed transaction the same way for Odradek as for Apache Kafka (producer ids, node
ids and times replaced: they are per cluster)."""

from __future__ import annotations

import re
import uuid

import pytest
from confluent_kafka import Producer

from tests.clusters import Cluster, cluster_for
from tests.differential.harness import QUIET, TIMEOUT, assert_same, create_topic, observe
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
