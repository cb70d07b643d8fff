"""Pytest fixture `kafka_cluster`: one real three-node Apache Kafka 4.4 cluster per session.

Owns the fixture's lifetime only; formatting, starting, stopping and restarting nodes live
in `reference.cluster`. A test that stops a node must bring it back (`degraded_node`
does) so later tests see three nodes. It must never skip: a missing JVM or jars fail.
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from reference.cluster import KafkaCluster, start_cluster
from reference.launcher import KafkaUnavailable


@pytest.fixture(scope="session")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    try:
        cluster = start_cluster(tmp_path_factory.mktemp("kafka-cluster"))
    except KafkaUnavailable as exc:
        pytest.fail(f"three-node Apache Kafka unavailable: {exc}", pytrace=False)
    # atexit too: an interrupted session may skip teardown, and three stray JVMs would
    # hold a gigabyte on a shared machine.
    atexit.register(cluster.stop, 10.0)
    try:
        yield cluster
    finally:
        cluster.stop()


@contextmanager
def degraded_node(cluster: KafkaCluster, node_id: int) -> Iterator[None]:
    """Node `node_id` stopped for the block, started again (and answering) after it."""
    cluster.stop_node(node_id)
    try:
        yield
    finally:
        cluster.start_node(node_id)
