"""Pytest fixture `cluster`: the same test against Odradek and against Apache Kafka.

Owns the mapping from a parameter id to a running cluster: "odradek" is the session's
real `python -m logstore serve` (`shared_broker`, tests/broker_fixture.py), "kafka" is
the reference broker (`kafka_broker`, tests/kafka_reference.py), "kafka3" the three-node
Kafka cluster (`kafka_cluster`, tests/kafka_cluster.py). A module runs its tests on the
three-node cluster too by importing `cluster_or_three_nodes`, which overrides `cluster`
there (the whole console suite on three JVMs is too slow for this machine). It must never start
brokers itself nor hide a missing one: both sides fail loudly when they cannot run.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

CLUSTER_KINDS = ("odradek", "kafka", "kafka3")


@dataclass(frozen=True)
class Cluster:
    """What a test needs to reach a cluster; `kind` is "odradek" or "kafka", `nodes` how
    many brokers answer (3 only for "kafka3", where new topics get 3 copies by default)."""

    name: str
    bootstrap: str
    kind: str
    nodes: int = 1

    @property
    def is_kafka(self) -> bool:
        return self.kind == "kafka"


def cluster_for(request: pytest.FixtureRequest, kind: str) -> Cluster:
    """The running cluster of `kind`, starting its session fixture on first use."""
    if kind == "kafka3":
        three = request.getfixturevalue("kafka_cluster")
        return Cluster(name=kind, bootstrap=three.bootstrap, kind="kafka", nodes=len(three.nodes))
    if kind == "kafka":
        broker = request.getfixturevalue("kafka_broker")
    elif kind == "odradek":
        broker = request.getfixturevalue("shared_broker")
    else:
        raise ValueError(f"unknown cluster kind {kind!r}; expected one of {CLUSTER_KINDS}")
    return Cluster(name=kind, bootstrap=broker.bootstrap, kind=kind)


@pytest.fixture(
    params=[
        pytest.param("odradek", id="odradek"),
        pytest.param("kafka", id="kafka", marks=pytest.mark.kafka),
    ]
)
def cluster(request: pytest.FixtureRequest) -> Cluster:
    return cluster_for(request, request.param)


@pytest.fixture(
    name="cluster",
    params=[
        pytest.param("odradek", id="odradek"),
        pytest.param("kafka", id="kafka", marks=pytest.mark.kafka),
        pytest.param("kafka3", id="kafka3", marks=pytest.mark.kafka_cluster),
    ],
)
def cluster_or_three_nodes(request: pytest.FixtureRequest) -> Cluster:
    return cluster_for(request, request.param)
