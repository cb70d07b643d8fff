"""Broker-wide topic defaults (`log.retention.ms`, `log.segment.bytes`, ...) from the
config file, changed at runtime through IncrementalAlterConfigs on the broker or on the
cluster-wide default layer beneath it (the broker named ""): every topic without its own
value follows at once, topics with one keep it, the broker's own value wins over the
cluster's, the change survives a restart (and kill -9), and a value the topic config
refuses is refused with the name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)

from logstore.protocol.api_keys import ApiKey
from tests.broker_fixture import start_broker
from tests.logstore.broker.test_broker_configs import TIMEOUT, _describe, _set
from tests.logstore.broker.wire import Wire, schema


def _topic_configs(bootstrap: str, topic: str) -> dict[str, tuple[Any, Any]]:
    resource = ConfigResource(ResourceType.TOPIC, topic)
    client = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
    entries = client.describe_configs([resource])[resource].result(TIMEOUT)
    return {n: (e.value, e.source) for n, e in entries.items()}


def test_dynamic_topic_defaults(tmp_path: Path) -> None:
    config = tmp_path / "server.properties"
    config.write_text("log.retention.hours=48\nlog.segment.bytes=2097152\n")
    broker = start_broker(tmp_path / "data", ["--config", str(config)])
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap, "log_level": 3})
        for future in admin.create_topics(
            [NewTopic("plain", 1), NewTopic("own", 1, config={"retention.ms": "1000"})]
        ).values():
            future.result(TIMEOUT)
        # STATIC_BROKER_CONFIG (4) from the file, on the broker and on the topic; except
        # that Kafka reports a topic's retention.ms as DEFAULT_CONFIG (5) when only a
        # coarser unit sets it: its synonym chain starts at log.retention.ms.
        assert _describe(broker)["log.retention.hours"] == ("48", 4, True)  # Kafka: not dynamic
        assert _topic_configs(broker.bootstrap, "plain")["retention.ms"] == ("172800000", 5)
        assert _topic_configs(broker.bootstrap, "plain")["segment.bytes"] == ("2097152", 4)

        _set(broker, **{"log.retention.ms": "60000"})
        assert _describe(broker)["log.retention.ms"] == ("60000", 2, False)  # DYNAMIC_BROKER
        # DYNAMIC_BROKER_CONFIG (2) on the topic too, as Kafka reports it.
        assert _topic_configs(broker.bootstrap, "plain")["retention.ms"] == ("60000", 2)
        assert _topic_configs(broker.bootstrap, "own")["retention.ms"] == ("1000", 1)

        with pytest.raises(KafkaException, match=r"log.segment.bytes.*must be at least"):
            _set(broker, **{"log.segment.bytes": "100"})
        assert _topic_configs(broker.bootstrap, "plain")["segment.bytes"][0] == "2097152"

        broker.restart()
        assert _topic_configs(broker.bootstrap, "plain")["retention.ms"] == ("60000", 2)
        # Kafka: not dynamic, and its value is dropped under a runtime log.retention.ms.
        assert _describe(broker)["log.retention.hours"] == ("168", 4, True)
    finally:
        broker.stop()


def _default_layer(wire: Wire, api: int, **fields: Any) -> tuple[int, str | None]:
    """IncrementalAlterConfigs (44, v1) or legacy AlterConfigs (33, v2) of the broker
    resource named "", the cluster-wide default layer."""
    s = schema(api, 1 if api == ApiKey.INCREMENTAL_ALTER_CONFIGS else 2)
    configs = tuple(
        s.AlterableConfig(name=n, value=v, **({"config_operation": op} if op >= 0 else {}))
        for n, (v, op) in fields.items()
    )
    answer = wire.request(
        api,
        1 if api == ApiKey.INCREMENTAL_ALTER_CONFIGS else 2,
        resources=(s.AlterConfigsResource(resource_type=4, resource_name="", configs=configs),),
        validate_only=False,
    )
    (result,) = answer.responses
    return int(result.error_code), result.error_message


def _defaults(wire: Wire) -> dict[str, tuple[str | None, int]]:
    s = schema(ApiKey.DESCRIBE_CONFIGS, 4)
    resource = s.DescribeConfigsResource(resource_type=4, resource_name="", configuration_keys=None)
    answer = wire.request(
        ApiKey.DESCRIBE_CONFIGS, 4, resources=(resource,), include_synonyms=False,
        include_documentation=False,
    )  # fmt: skip
    return {c.name: (c.value, int(c.config_source)) for c in answer.results[0].configs}


def test_cluster_wide_defaults_lie_beneath_the_brokers_own(tmp_path: Path) -> None:
    config = tmp_path / "server.properties"
    config.write_text("log.retention.hours=48\n")
    broker = start_broker(tmp_path / "data", ["--config", str(config)])
    incremental, legacy = ApiKey.INCREMENTAL_ALTER_CONFIGS, ApiKey.ALTER_CONFIGS
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap, "log_level": 3})
        admin.create_topics([NewTopic("plain", 1)])["plain"].result(TIMEOUT)
        with Wire(broker.bootstrap) as wire:
            assert _defaults(wire) == {}
            assert _default_layer(wire, incremental, **{"log.retention.ms": ("120000", 0)}) == (
                0,
                None,
            )
            assert _defaults(wire) == {"log.retention.ms": ("120000", 3)}
        # DYNAMIC_DEFAULT_BROKER_CONFIG (3) on the broker and on its topics.
        assert _describe(broker)["log.retention.ms"] == ("120000", 3, False)
        assert _topic_configs(broker.bootstrap, "plain")["retention.ms"] == ("120000", 3)
        _set(broker, **{"log.retention.ms": "60000"})  # the broker's own wins
        assert _topic_configs(broker.bootstrap, "plain")["retention.ms"] == ("60000", 2)
        resource = ConfigResource(
            ResourceType.BROKER,
            "0",
            incremental_configs=[
                ConfigEntry(
                    "log.retention.ms", None, incremental_operation=AlterConfigOpType.DELETE
                )
            ],
        )
        admin.incremental_alter_configs([resource])[resource].result(TIMEOUT)
        assert _topic_configs(broker.bootstrap, "plain")["retention.ms"] == ("120000", 3)
        with Wire(broker.bootstrap) as wire:
            # Legacy AlterConfigs replaces the whole layer.
            assert _default_layer(wire, legacy, **{"max.connections": ("500", -1)}) == (0, None)
            assert _defaults(wire) == {"max.connections": ("500", 3)}
        assert _topic_configs(broker.bootstrap, "plain")["retention.ms"] == ("172800000", 5)
        broker.kill9()
        broker.restart()
        with Wire(broker.bootstrap) as wire:
            assert _defaults(wire) == {"max.connections": ("500", 3)}
        assert _describe(broker)["max.connections"] == ("500", 3, False)
    finally:
        broker.stop()


def test_hours_set_at_runtime_by_an_earlier_version_still_apply(tmp_path: Path) -> None:
    """Earlier versions let AlterConfigs set log.retention.hours, which Kafka refuses there
    (only log.retention.ms changes at runtime). A stored value still applies after the
    upgrade, with a warning naming the way out; setting it again is refused as on Kafka,
    and deleting it works."""
    data = tmp_path / "data"
    state = data / ".state" / "broker"
    state.mkdir(parents=True)
    (state / "dynamic-configs.json").write_text('{"log.retention.hours": "2"}')
    broker = start_broker(data)
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap, "log_level": 3})
        admin.create_topics([NewTopic("plain", 1)])["plain"].result(TIMEOUT)
        assert _topic_configs(broker.bootstrap, "plain")["retention.ms"] == ("7200000", 5)
        assert _describe(broker)["log.retention.hours"] == ("2", 2, True)
        assert "kafka-configs.sh --delete-config log.retention.hours" in broker.log_path.read_text()
        with pytest.raises(KafkaException, match=r"Cannot update these configs dynamically"):
            _set(broker, **{"log.retention.hours": "3"})
        resource = ConfigResource(
            ResourceType.BROKER,
            "0",
            incremental_configs=[
                ConfigEntry(
                    "log.retention.hours", None, incremental_operation=AlterConfigOpType.DELETE
                )
            ],
        )
        admin.incremental_alter_configs([resource])[resource].result(TIMEOUT)
        assert _topic_configs(broker.bootstrap, "plain")["retention.ms"] == ("604800000", 5)
        broker.restart()
        assert _describe(broker)["log.retention.hours"] == ("168", 5, True)
    finally:
        broker.stop()
