"""Differential: DescribeConfigs / IncrementalAlterConfigs / AlterConfigs on topics."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

from tests.clusters import Cluster
from tests.differential.harness import (
    TIMEOUT,
    admin,
    assert_same,
    create_topic,
    error_name,
    observe,
    outcome,
    unique_topic,
)

pytestmark = pytest.mark.kafka


def describe(cluster: Cluster, topic: str) -> dict[str, tuple[Any, ...]] | str:
    """name -> (value, source, is_default, read_only, sensitive), or the error name."""
    client = admin(cluster)
    resource = ConfigResource(ResourceType.TOPIC, topic)
    try:
        entries = client.describe_configs([resource], request_timeout=TIMEOUT)[resource].result(
            timeout=TIMEOUT
        )
    except Exception as exc:
        return error_name(exc)
    return {
        name: (e.value, e.source, e.is_default, e.is_read_only, e.is_sensitive)
        for name, e in entries.items()
    }


def incremental(
    cluster: Cluster, topic: str, *ops: tuple[str, str | None, AlterConfigOpType]
) -> str:
    client = admin(cluster)
    entries = [ConfigEntry(name, value, incremental_operation=op) for name, value, op in ops]
    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=entries)
    futures = client.incremental_alter_configs([resource], request_timeout=TIMEOUT)
    return outcome(futures[resource])


def test_describe_defaults(clusters: tuple[Cluster, ...]) -> None:
    """Every topic config name, default value, source and flags match Kafka's."""

    def scenario(cluster: Cluster) -> Any:
        topic = unique_topic("cfg")
        create_topic(cluster, topic, config={"retention.ms": "3600000"})
        return describe(cluster, topic)

    seen = observe(clusters, scenario)
    kafka = seen["kafka"]
    assert isinstance(kafka, dict)
    assert kafka["retention.ms"] == ("3600000", 1, False, False, False)  # DYNAMIC_TOPIC_CONFIG
    assert kafka["cleanup.policy"] == ("delete", 5, True, False, False)  # DEFAULT_CONFIG
    # Documented difference (docs/compatibility.md): Kafka 4's `storage format` writes a
    # cluster-wide min.insync.replicas=1 for eligible leader replicas, so Kafka reports it
    # as DYNAMIC_DEFAULT_BROKER_CONFIG (3); Odradek has no cluster-level dynamic configs
    # and reports the same value as its built-in DEFAULT_CONFIG (5).
    assert kafka["min.insync.replicas"] == ("1", 3, False, False, False)
    odradek = seen["odradek"]
    assert isinstance(odradek, dict)
    assert odradek.get("min.insync.replicas") == ("1", 5, True, False, False)
    assert_same(
        {
            kind: {k: v for k, v in entries.items() if k != "min.insync.replicas"}
            for kind, entries in seen.items()
            if isinstance(entries, dict)
        }
    )


def test_incremental_alter(clusters: tuple[Cluster, ...]) -> None:
    def scenario(cluster: Cluster) -> dict[str, Any]:
        topic = unique_topic("alter")
        create_topic(cluster, topic, config={"cleanup.policy": "compact"})
        seen: dict[str, Any] = {}
        seen["set"] = incremental(
            cluster,
            topic,
            ("retention.ms", "120000", AlterConfigOpType.SET),
            ("max.message.bytes", "2000000", AlterConfigOpType.SET),
        )
        seen["append"] = incremental(
            cluster, topic, ("cleanup.policy", "delete", AlterConfigOpType.APPEND)
        )
        after = describe(cluster, topic)
        assert isinstance(after, dict)
        seen["after_set"] = {
            k: after[k] for k in ("retention.ms", "max.message.bytes", "cleanup.policy")
        }
        seen["delete"] = incremental(
            cluster, topic, ("retention.ms", None, AlterConfigOpType.DELETE)
        )
        after = describe(cluster, topic)
        assert isinstance(after, dict)
        seen["after_delete"] = after["retention.ms"]
        seen["subtract"] = incremental(
            cluster, topic, ("cleanup.policy", "compact", AlterConfigOpType.SUBTRACT)
        )
        after = describe(cluster, topic)
        assert isinstance(after, dict)
        seen["after_subtract"] = after["cleanup.policy"]
        seen["unknown_name"] = incremental(
            cluster, topic, ("no.such.config", "1", AlterConfigOpType.SET)
        )
        seen["bad_value"] = incremental(
            cluster, topic, ("retention.ms", "forever", AlterConfigOpType.SET)
        )
        seen["bad_enum"] = incremental(
            cluster, topic, ("message.timestamp.type", "Sometime", AlterConfigOpType.SET)
        )
        seen["append_to_scalar"] = incremental(
            cluster, topic, ("retention.ms", "5", AlterConfigOpType.APPEND)
        )
        seen["unknown_topic"] = incremental(
            cluster, unique_topic("absent"), ("retention.ms", "1", AlterConfigOpType.SET)
        )
        seen["describe_unknown_topic"] = describe(cluster, unique_topic("absent"))
        return seen

    seen = observe(clusters, scenario)
    kafka = seen["kafka"]
    assert kafka["set"] == "OK"
    assert kafka["after_set"]["retention.ms"][:2] == ("120000", 1)
    assert kafka["after_delete"][:3] == ("604800000", 5, True)
    assert kafka["unknown_name"] == "INVALID_CONFIG"
    assert kafka["unknown_topic"] == "UNKNOWN_TOPIC_OR_PART"
    assert_same(seen)


# The legacy API is deprecated in the client but still served by Kafka 4.4 and used by
# older tools; testing it is the point.
@pytest.mark.filterwarnings("ignore:alter_configs has been deprecated:DeprecationWarning")
def test_legacy_alter_configs_replaces_all(clusters: tuple[Cluster, ...]) -> None:
    """Non-incremental AlterConfigs replaces the whole set: unnamed overrides revert."""

    def scenario(cluster: Cluster) -> Any:
        topic = unique_topic("legacy")
        create_topic(cluster, topic, config={"retention.ms": "3600000"})
        client = admin(cluster)
        resource = ConfigResource(ResourceType.TOPIC, topic, set_config={"segment.ms": "7200000"})
        result = outcome(client.alter_configs([resource], request_timeout=TIMEOUT)[resource])
        after = describe(cluster, topic)
        assert isinstance(after, dict)
        return result, after["retention.ms"], after["segment.ms"]

    seen = observe(clusters, scenario)
    assert seen["kafka"] == (
        "OK",
        ("604800000", 5, True, False, False),
        ("7200000", 1, False, False, False),
    )
    assert_same(seen)
