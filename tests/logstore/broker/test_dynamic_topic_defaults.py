"""Broker-wide topic defaults (`log.retention.ms`, `log.segment.bytes`, ...) from the
config file, changed at runtime through IncrementalAlterConfigs on the broker: every topic
without its own value follows at once, topics with one keep it, the change survives a
restart, and a value the topic config refuses is refused with the name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType

from tests.broker_fixture import start_broker
from tests.logstore.broker.test_broker_configs import TIMEOUT, _describe, _set


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
        # STATIC_BROKER_CONFIG (4) from the file, on the broker and on the topic.
        assert _describe(broker)["log.retention.hours"] == ("48", 4, False)
        assert _topic_configs(broker.bootstrap, "plain")["retention.ms"] == ("172800000", 4)
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
        assert _describe(broker)["log.retention.hours"] == ("48", 4, False)
    finally:
        broker.stop()
