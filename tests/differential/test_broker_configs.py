"""Differential: BROKER resource configs through legacy AlterConfigs (what librdkafka's
admin client sends), IncrementalAlterConfigs and DescribeConfigs, per broker and for the
cluster-wide default layer (the resource named "", `kafka-configs.sh --entity-default`),
raw on the wire there, because confluent-kafka cannot name that resource.

Both brokers are shared by the session, so every scenario puts the configs back (DELETE)
before it ends. Kafka applies a dynamic broker config through its metadata log, so its
DescribeConfigs may answer with the previous value for a moment: `described` polls until
the expected source shows, within the harness timeout.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType
from kio.index import load_payload_module
from kio.static.constants import EntityType

from tests.clusters import Cluster
from tests.differential.harness import (
    TIMEOUT,
    admin,
    assert_same,
    create_topic,
    observe,
    unique_topic,
)
from tests.differential.test_client_quotas import _send, _tool

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.filterwarnings("ignore:alter_configs has been deprecated"),
]

RATE = "log.cleaner.io.max.bytes.per.second"
CONNECTIONS = "max.connections"
DYNAMIC = 2  # DYNAMIC_BROKER_CONFIG


def _node(cluster: Cluster) -> str:
    return str(next(iter(admin(cluster).list_topics(timeout=TIMEOUT).brokers)))


def _result(future: Any) -> str:
    """ "OK" or "NAME: message" of an alteration."""
    try:
        future.result(timeout=TIMEOUT)
    except KafkaException as exc:
        error = exc.args[0]
        return f"{error.name()}: {error.str()}"
    return "OK"


def legacy(cluster: Cluster, values: dict[str, str]) -> str:
    client = admin(cluster)
    resource = ConfigResource(ResourceType.BROKER, _node(cluster), set_config=values)
    return _result(client.alter_configs([resource])[resource])


def incremental(cluster: Cluster, *ops: tuple[str, str | None, AlterConfigOpType]) -> str:
    client = admin(cluster)
    entries = [ConfigEntry(n, v, incremental_operation=op) for n, v, op in ops]
    resource = ConfigResource(ResourceType.BROKER, _node(cluster), incremental_configs=entries)
    return _result(client.incremental_alter_configs([resource])[resource])


def described(cluster: Cluster, expect: dict[str, str | None]) -> dict[str, tuple[Any, ...]]:
    """(value, is dynamic, read only) of `expect`'s names once each has its expected
    dynamic value (None = no dynamic override), or what was last seen."""
    client = admin(cluster)
    resource = ConfigResource(ResourceType.BROKER, _node(cluster))
    deadline = time.monotonic() + TIMEOUT
    while True:
        entries = client.describe_configs([resource])[resource].result(timeout=TIMEOUT)
        seen = {
            name: (
                entries[name].value if entries[name].source == DYNAMIC else None,
                entries[name].source == DYNAMIC,
                entries[name].is_read_only,
            )
            for name in expect
        }
        if all(seen[n][0] == v for n, v in expect.items()) or time.monotonic() > deadline:
            return seen
        time.sleep(0.2)  # polling Kafka's metadata log apply, not waiting for time to pass


def test_dynamic_broker_configs(clusters: tuple[Cluster, ...]) -> None:
    S, D = AlterConfigOpType.SET, AlterConfigOpType.DELETE

    def scenario(cluster: Cluster) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        try:
            seen["legacy"] = legacy(cluster, {CONNECTIONS: "500", RATE: "15000000"})
            seen["after_legacy"] = described(cluster, {CONNECTIONS: "500", RATE: "1.5E7"})
            # Legacy AlterConfigs replaces the broker's whole dynamic set.
            seen["replace"] = legacy(cluster, {CONNECTIONS: "400"})
            seen["after_replace"] = described(cluster, {CONNECTIONS: "400", RATE: None})
            seen["incremental"] = incremental(cluster, (RATE, "2000000", S))
            seen["after_incremental"] = described(cluster, {CONNECTIONS: "400", RATE: "2000000.0"})
            seen["static_legacy"] = legacy(cluster, {"num.partitions": "3"})
            seen["static_interval"] = legacy(cluster, {"log.retention.check.interval.ms": "5"})
            seen["static_incremental"] = incremental(cluster, ("num.partitions", "3", S))
            seen["static_first"] = legacy(cluster, {"num.partitions": "3", CONNECTIONS: "x"})
            seen["not_a_number"] = incremental(cluster, (CONNECTIONS, "many", S))
            seen["negative"] = incremental(cluster, (CONNECTIONS, "-5", S))
            seen["zero"] = incremental(cluster, (CONNECTIONS, "0", S)).split(":")[0]
            seen["append"] = incremental(cluster, (CONNECTIONS, "5", AlterConfigOpType.APPEND))
            seen["delete_static"] = incremental(cluster, ("num.partitions", None, D))
            seen["after_refusals"] = described(cluster, {CONNECTIONS: "400", RATE: "2000000.0"})
        finally:
            seen["delete"] = incremental(cluster, (CONNECTIONS, None, D), (RATE, None, D))
        seen["after_delete"] = described(cluster, {CONNECTIONS: None, RATE: None})
        return seen

    seen = observe(clusters, scenario)
    kafka = seen["kafka"]
    assert kafka["legacy"] == "OK"
    assert kafka["after_legacy"][CONNECTIONS] == ("500", True, False)
    assert kafka["static_legacy"] == (
        "INVALID_REQUEST: Cannot update these configs dynamically: [num.partitions]"
    )
    assert kafka["after_delete"][RATE] == (None, False, False)
    assert_same(seen)


COARSE = ("log.retention.hours", "log.retention.minutes", "log.roll.hours")


def test_only_the_finest_time_unit_is_dynamic(clusters: tuple[Cluster, ...]) -> None:
    """Kafka changes log.retention.ms and log.roll.ms at runtime, never their minutes and
    hours synonyms: per broker and cluster-wide they are refused, and described read-only."""
    S, D = AlterConfigOpType.SET, AlterConfigOpType.DELETE

    def scenario(cluster: Cluster) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for name in COARSE:
            seen[name] = incremental(cluster, (name, "5", S))
            seen[f"{name} cluster-wide"] = _raw_incremental(cluster, "", (name, "5", SET))
        # One coarse name refuses the whole request, the finer one with it.
        seen["with a fine one"] = incremental(
            cluster, ("log.retention.ms", "7200000", S), ("log.roll.hours", "5", S)
        )
        seen["read only"] = described(cluster, dict.fromkeys(COARSE))
        try:
            seen["fine"] = incremental(
                cluster, ("log.retention.ms", "7200000", S), ("log.roll.ms", "3600000", S)
            )
            seen["fine read only"] = described(
                cluster, {"log.retention.ms": "7200000", "log.roll.ms": "3600000"}
            )
        finally:
            seen["delete"] = incremental(
                cluster, ("log.retention.ms", None, D), ("log.roll.ms", None, D)
            )
        return seen

    seen = observe(clusters, scenario)
    kafka = seen["kafka"]
    assert kafka["log.roll.hours"] == (
        "INVALID_REQUEST: Cannot update these configs dynamically: [log.roll.hours]"
    )
    assert kafka["read only"]["log.retention.hours"] == (None, False, True)
    assert kafka["fine"] == "OK"
    assert_same(seen)


def test_unknown_broker_config_names(clusters: tuple[Cluster, ...]) -> None:
    """Documented difference (docs/compatibility.md): Kafka stores a broker config name it
    does not know as a custom config; Odradek refuses it like a static one, so a typo is
    an error instead of a silent no-op."""
    name = "no.such.broker.config"

    def scenario(cluster: Cluster) -> str:
        try:
            return incremental(cluster, (name, "1", AlterConfigOpType.SET))
        finally:
            incremental(cluster, (name, None, AlterConfigOpType.DELETE))

    seen = observe(clusters, scenario)
    assert seen["kafka"] == "OK"
    assert seen["odradek"] == f"INVALID_REQUEST: Cannot update these configs dynamically: [{name}]"


# Kafka 4 formats a cluster with a cluster-level min.insync.replicas (for eligible leader
# replicas), which Odradek, one broker without replicas, does not have: left out.
ELR_DEFAULT = "min.insync.replicas"
FLUSH = "log.flush.interval.messages"
BROKER_RESOURCE, TOPIC_RESOURCE = 4, 2
SET, DELETE = 0, 1


def _raw_described(cluster: Cluster, rtype: int, name: str, keys: set[str] | None) -> Any:
    """DescribeConfigs v4 with synonyms: (error, {name: (value, source, read only,
    synonyms)}) for `keys` (every name but Kafka's ELR default when None)."""
    m = load_payload_module(32, 4, EntityType.request)
    resource = m.DescribeConfigsResource(
        resource_type=rtype, resource_name=name, configuration_keys=None
    )
    _, answer = _send(
        cluster, 32, 4, "diff-configs", resources=(resource,), include_synonyms=True,
        include_documentation=False,
    )  # fmt: skip
    (result,) = answer.results
    entries = {}
    for c in result.configs:
        if c.name in keys if keys is not None else c.name != ELR_DEFAULT:
            synonyms = [(s.name, s.value, int(s.source)) for s in c.synonyms]
            entries[c.name] = (c.value, int(c.config_source), c.read_only, synonyms)
    return (int(result.error_code), result.error_message or ""), entries


def _raw_incremental(
    cluster: Cluster, name: str, *ops: tuple[str, str | None, int], only: bool = False
) -> Any:
    m = load_payload_module(44, 1, EntityType.request)
    resource = m.AlterConfigsResource(
        resource_type=BROKER_RESOURCE, resource_name=name,
        configs=tuple(m.AlterableConfig(name=n, config_operation=o, value=v) for n, v, o in ops),
    )  # fmt: skip
    _, answer = _send(cluster, 44, 1, "diff-configs", resources=(resource,), validate_only=only)
    (result,) = answer.responses
    return int(result.error_code), result.error_message


def _until(read: Any, shows: Any) -> Any:
    """`read()` once `shows(it)` (Kafka applies a config change through its metadata log
    a moment after answering), or what it last read."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        seen = read()
        if shows(seen) or time.monotonic() > deadline:
            return seen
        time.sleep(0.1)  # polling Kafka's metadata log apply, not waiting for time to pass


def test_cluster_wide_default_broker_configs(clusters: tuple[Cluster, ...]) -> None:
    def scenario(cluster: Cluster) -> dict[str, Any]:
        node, seen = _node(cluster), dict[str, Any]()
        topic = unique_topic("cluster-default")
        create_topic(cluster, topic)

        def defaults() -> Any:
            return _raw_described(cluster, BROKER_RESOURCE, "", None)

        def mine(*keys: str) -> Any:
            return _raw_described(cluster, BROKER_RESOURCE, node, set(keys))

        try:
            seen["before"] = defaults()
            seen["set"] = _raw_incremental(
                cluster, "", (RATE, "30000000", SET), (FLUSH, "9223372036854775806", SET)
            )
            seen["defaults"] = _until(defaults, lambda d: FLUSH in d[1])
            seen["broker"] = _until(
                lambda: mine(RATE, FLUSH), lambda d: d[1][RATE][:2] == ("3.0E7", 3)
            )
            seen["topic value and source"] = _until(
                lambda: _raw_described(cluster, TOPIC_RESOURCE, topic, {"flush.messages"}),
                lambda d: d[1]["flush.messages"][1] == 3,
            )[1]["flush.messages"][:2]
            seen["per broker"] = _raw_incremental(cluster, node, (RATE, "40000000", SET))
            # Kafka may show the new source a moment before the new value: both are awaited.
            seen["broker wins"] = _until(
                lambda: mine(RATE), lambda d: d[1][RATE][:2] == ("4.0E7", 2)
            )
            seen["defaults kept"] = defaults()
            seen["refused"] = [
                _raw_incremental(cluster, "", ("max.connections", "-3", SET)),
                _raw_incremental(cluster, "", ("num.partitions", "3", SET)),
                _raw_incremental(cluster, "", ("max.connections", "many", SET)),
            ]
            seen["validate only"] = _raw_incremental(
                cluster, "", ("max.connections", "100000", SET), only=True
            )
            seen["only the asked"] = _raw_described(cluster, BROKER_RESOURCE, "", {RATE, "x"})
            seen["deleted"] = _raw_incremental(cluster, "", (FLUSH, None, DELETE))
            seen["after delete"] = _until(defaults, lambda d: FLUSH not in d[1])
        finally:
            seen["cleanup"] = [
                _raw_incremental(cluster, "", (RATE, None, DELETE), (FLUSH, None, DELETE)),
                _raw_incremental(cluster, node, (RATE, None, DELETE)),
            ]
        seen["after"] = _until(defaults, lambda d: not d[1])
        return seen

    seen = observe(clusters, scenario)
    kafka = seen["kafka"]
    assert kafka["defaults"][1][RATE] == ("30000000", 3, False, [(RATE, "30000000", 3)])
    assert kafka["broker wins"][1][RATE][3][:2] == [(RATE, "40000000", 2), (RATE, "30000000", 3)]
    assert kafka["topic value and source"] == ("9223372036854775806", 3)
    assert_same(seen)


def test_kafka_configs_entity_default(clusters: tuple[Cluster, ...]) -> None:
    """Kafka's own tool, as its documentation uses it for cluster-wide broker configs."""

    def scenario(cluster: Cluster) -> list[Any]:
        brokers = ("--entity-type", "brokers", "--entity-default")
        seen: list[Any] = []
        try:
            seen.append(_tool(cluster.bootstrap, *brokers, "--alter", "--add-config", f"{RATE}=25000000"))  # fmt: skip
            seen.append(
                _until(
                    lambda: _tool(cluster.bootstrap, *brokers, "--describe"),
                    lambda out: any(RATE in line for line in out[1]),
                )
            )
            seen.append(_tool(cluster.bootstrap, *brokers, "--alter", "--add-config", "num.partitions=3"))  # fmt: skip
        finally:
            seen.append(_tool(cluster.bootstrap, *brokers, "--alter", "--delete-config", RATE))
        # Kafka's own cluster-level min.insync.replicas (ELR) is not compared.
        return [(code, [line for line in out if ELR_DEFAULT not in line]) for code, out in seen]

    seen = observe(clusters, scenario)
    assert seen["kafka"][1] == (
        0,
        [
            "Default configs for brokers in the cluster are:",
            f"{RATE}=25000000 sensitive=false "
            f"synonyms={{DYNAMIC_DEFAULT_BROKER_CONFIG:{RATE}=25000000}}",
        ],
    )
    assert_same(seen)
