"""Differential: the synonyms DescribeConfigs lists beside topic and broker configs, and the
source they decide, compared entry by entry with Apache Kafka.

A topic config's synonyms are its own value then the broker names that default it
(`retention.ms`: `log.retention.ms`, `.minutes`, `.hours`) over every layer: this broker's
runtime values, the cluster-wide ones, the config file's, Kafka's defaults. The shared pair
covers the runtime layers; a pair of this module's own, started from one config file,
covers the file's layer and Kafka's rule that a chain starts at the finest name.
CreateTopics (v5 on) answers with the new topic's configs by Kafka's controller rule,
compared here too: sorted by name, the source the first layer holding any broker name.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from kio.index import load_payload_module
from kio.schema.types import TopicName
from kio.static.constants import EntityType

from tests.clusters import Cluster
from tests.differential.harness import assert_same, create_topic, observe, unique_topic
from tests.differential.own_pair import broker_pair, clusters_of
from tests.differential.test_broker_configs import (
    BROKER_RESOURCE,
    DELETE,
    ELR_DEFAULT,
    SET,
    TOPIC_RESOURCE,
    _node,
    _raw_described,
    _raw_incremental,
    _until,
)
from tests.differential.test_client_quotas import _send

pytestmark = [pytest.mark.kafka]


def _created(cluster: Cluster, configs: dict[str, str]) -> Any:
    """CreateTopics v7 of a new topic: (error, [(name, value, read only, source, sensitive)])
    of the configs it answers with, in its order (min.insync.replicas aside: Kafka's
    cluster-wide ELR default)."""
    m = load_payload_module(19, 7, EntityType.request)
    topic = m.CreatableTopic(
        name=TopicName(unique_topic("created")), num_partitions=1, replication_factor=1,
        assignments=(), configs=tuple(m.CreatableTopicConfig(name=n, value=v) for n, v in configs.items()),
    )  # fmt: skip
    _, answer = _send(
        cluster, 19, 7, "diff-configs", topics=(topic,), timeout=timedelta(seconds=30),
        validate_only=False,
    )  # fmt: skip
    (result,) = answer.topics
    return int(result.error_code), [
        (c.name, c.value, c.read_only, int(c.config_source), c.is_sensitive)
        for c in result.configs
        if c.name != ELR_DEFAULT
    ]


# Broker names that default topic configs and have synonyms, and a few single ones.
BROKER_NAMES = {
    "log.retention.ms",
    "log.retention.minutes",
    "log.retention.hours",
    "log.roll.ms",
    "log.roll.hours",
    "log.roll.jitter.ms",
    "log.roll.jitter.hours",
    "log.flush.interval.ms",
    "log.flush.scheduler.interval.ms",
    "log.segment.bytes",
    "log.cleanup.policy",
    "message.max.bytes",
    "log.index.size.max.bytes",
}
MINE = [
    ("log.retention.ms", "5000000"),
    ("log.roll.ms", "600000"),
    ("log.flush.interval.ms", "9000"),
]
CLUSTER = [("log.segment.bytes", "20000000"), ("log.retention.ms", "6000000"), ("log.roll.jitter.ms", "10")]  # fmt: skip


def test_synonyms_over_the_runtime_layers(clusters: tuple[Cluster, ...]) -> None:
    def scenario(cluster: Cluster) -> dict[str, Any]:
        node, seen = _node(cluster), dict[str, Any]()
        topic = unique_topic("synonyms")
        create_topic(cluster, topic, config={"retention.ms": "1000", "cleanup.policy": "compact"})
        seen["topic"] = _raw_described(cluster, TOPIC_RESOURCE, topic, None)
        seen["broker"] = _raw_described(cluster, BROKER_RESOURCE, node, BROKER_NAMES)
        seen["created"] = _created(cluster, {"retention.ms": "1000"})
        try:
            seen["set"] = [
                _raw_incremental(cluster, node, *[(n, v, SET) for n, v in MINE]),
                _raw_incremental(cluster, "", *[(n, v, SET) for n, v in CLUSTER]),
            ]
            seen["topic then"] = _until(
                lambda: _raw_described(cluster, TOPIC_RESOURCE, topic, None),
                # Kafka may show a new source a moment before the new value: both awaited.
                lambda d: (
                    d[1]["segment.bytes"][:2] == ("20000000", 3)
                    and d[1]["flush.ms"][:2] == ("9000", 2)
                    and d[1]["segment.jitter.ms"][:2] == ("10", 3)
                ),
            )
            seen["broker then"] = _raw_described(cluster, BROKER_RESOURCE, node, BROKER_NAMES)
            seen["cluster-wide"] = _raw_described(cluster, BROKER_RESOURCE, "", None)
            seen["created then"] = _created(cluster, {"cleanup.policy": "compact"})
        finally:
            seen["cleanup"] = [
                _raw_incremental(cluster, node, *[(n, None, DELETE) for n, _ in MINE]),
                _raw_incremental(cluster, "", *[(n, None, DELETE) for n, _ in CLUSTER]),
            ]
        return seen

    seen = observe(clusters, scenario)
    kafka = seen["kafka"]
    assert kafka["topic"][1]["cleanup.policy"] == (
        "compact", 1, False, [("cleanup.policy", "compact", 1), ("log.cleanup.policy", "delete", 5)]
    )  # fmt: skip
    assert kafka["topic"][1]["segment.ms"] == ("604800000", 5, False, [])
    assert kafka["topic then"][1]["retention.ms"][3] == [
        ("retention.ms", "1000", 1),
        ("log.retention.ms", "5000000", 2),
        ("log.retention.ms", "6000000", 3),
        ("log.retention.hours", "168", 5),
    ]
    assert_same(seen)


# Set in both brokers' config files. log.flush.interval.ms is left unset, so topics flush
# at the scheduler's interval.
STATIC = {
    "log.retention.hours": "2",
    "log.roll.ms": "3600000",
    "log.roll.jitter.hours": "1",
    "log.segment.bytes": "50000000",
    "log.flush.scheduler.interval.ms": "30000",
    "log.cleanup.policy": "delete",
}


def test_synonyms_from_the_config_file(tmp_path_factory: pytest.TempPathFactory) -> None:
    def scenario(cluster: Cluster) -> dict[str, Any]:
        node, seen = _node(cluster), dict[str, Any]()
        topic = unique_topic("file-synonyms")
        create_topic(cluster, topic, config={})
        seen["topic"] = _raw_described(cluster, TOPIC_RESOURCE, topic, None)
        seen["broker"] = _raw_described(cluster, BROKER_RESOURCE, node, BROKER_NAMES)
        seen["set"] = _raw_incremental(cluster, node, ("log.retention.ms", "5000000", SET))
        seen["topic then"] = _until(
            lambda: _raw_described(cluster, TOPIC_RESOURCE, topic, None),
            lambda d: d[1]["retention.ms"][:2] == ("5000000", 2),
        )
        seen["broker then"] = _raw_described(cluster, BROKER_RESOURCE, node, BROKER_NAMES)
        # Kafka's controller answers CreateTopics by its own rule: the file's
        # log.retention.hours is STATIC_BROKER_CONFIG there.
        seen["created"] = _created(cluster, {})
        return seen

    with broker_pair(tmp_path_factory, "synonyms", STATIC, config_file=True) as pair:
        seen = observe(clusters_of(*pair), scenario)
    kafka_seen = seen["kafka"]
    # Only a coarser unit sets these: the chain, which starts at the finest name, is empty.
    assert kafka_seen["topic"][1]["retention.ms"] == ("7200000", 5, False, [])
    assert kafka_seen["topic"][1]["segment.jitter.ms"] == ("3600000", 5, False, [])
    assert kafka_seen["topic"][1]["flush.ms"] == ("30000", 5, False, [])
    # A runtime log.retention.ms drops the file's log.retention.hours from the value.
    assert kafka_seen["broker then"][1]["log.retention.hours"][:2] == ("168", 4)
    created = {c[0]: c[1:] for c in kafka_seen["created"][1]}
    assert created["retention.ms"] == ("5000000", False, 2, False)
    assert created["segment.jitter.ms"] == ("3600000", False, 4, False)
    assert_same(seen)
