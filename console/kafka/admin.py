"""The door the topic pages go through: single-topic reads, and every topic call by name.

Owns the detail page's reads (one topic fresh from the cluster, its full config list)
and a cluster's lifecycle in this process (`forget_cluster`, `reset`). The changes live in
`console.kafka.topics`, cluster-wide reads in `console.kafka.reads` and their caching in
`console.kafka.snapshot`; their public names are importable from here, so a page has one
module to ask. Every call has a timeout; every failure becomes a readable `ClusterError`.

It must never read logstore's files nor import logstore: it speaks the Kafka protocol only.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from confluent_kafka.admin import ConfigEntry, ConfigResource, ConfigSource

from console.kafka import bulk, clients, reads, records, wire
from console.kafka.config import ClusterConfig
from console.kafka.errors import ClusterError, TopicNotFound
from console.kafka.metadata import cluster_metadata as metadata
from console.kafka.model import ConfigItem, PartitionInfo, Snapshot, TopicInfo
from console.kafka.reads import RECENT_WINDOW_MS, SNAPSHOT_CONFIGS
from console.kafka.snapshot import (
    CONFIGS_TTL,
    SNAPSHOT_TTL,
    build_snapshot,
    expire,
    invalidate,
    invalidate_all,
    refresh_topics,
    snapshot,
)
from console.kafka.topics import (
    add_partitions,
    alter_topic_configs,
    create_topic,
    delete_records,
    delete_topic,
    wait,
)

__all__ = [
    "CONFIGS_TTL",
    "RECENT_WINDOW_MS",
    "SNAPSHOT_CONFIGS",
    "SNAPSHOT_TTL",
    "ClusterError",
    "ConfigItem",
    "PartitionInfo",
    "Snapshot",
    "TopicInfo",
    "TopicNotFound",
    "add_partitions",
    "alter_topic_configs",
    "build_snapshot",
    "create_topic",
    "delete_records",
    "delete_topic",
    "describe_topic_configs",
    "expire",
    "forget_cluster",
    "invalidate",
    "invalidate_all",
    "metadata",
    "partition_details",
    "refresh_topics",
    "reset",
    "snapshot",
    "topic_configs",
]


def forget_cluster(cluster: ClusterConfig) -> None:
    """Close every client and drop every cached figure of `cluster` (its settings changed)."""
    invalidate(cluster)
    records.forget_timestamps(cluster)
    clients.forget(cluster)


def reset() -> None:
    """Forget every snapshot and close every client (tests, between clusters)."""
    invalidate_all()
    records.forget_timestamps()
    clients.forget_all()


# --------------------------------------------------------------------------- reading


def topic_configs(
    cluster: ClusterConfig, topics: Iterable[str], names: Iterable[str] = SNAPSHOT_CONFIGS
) -> dict[str, dict[str, str]]:
    """Selected config values per topic, in one DescribeConfigs that names only those keys
    (librdkafka cannot name keys: all ~40 configs of 1,000 topics cost ten times more)."""
    wanted, keys = list(topics), list(names)
    if not wanted:
        return {}

    async def read(manager: Any) -> dict[str, dict[str, str]]:
        request = bulk.describe_configs_request(wanted, keys)
        node = manager.least_loaded_node()
        answers = await wire.gather(
            manager, [(("configs", node), request, node)], cluster.timeout_s
        )
        warnings: list[str] = []
        found = bulk.configs_from(answers, warnings)
        if warnings:
            raise ClusterError(warnings[0])
        return found

    return wire.run(cluster, "read topic configs", read)


def partition_details(cluster: ClusterConfig, topic: str) -> TopicInfo:
    """One topic, fresh from the cluster (never the cached snapshot)."""

    async def read(manager: Any) -> tuple[reads.Layout, reads.Filled]:
        return await reads.read_topics(
            manager, [topic], now_ms=int(time.time() * 1000), limit_s=cluster.timeout_s
        )

    layout, filled = wire.run(cluster, f"read topic {topic}", read)
    info = reads.require(layout, topic)
    info.configs = filled.configs.get(topic, {})
    return info


def describe_topic_configs(cluster: ClusterConfig, topic: str) -> list[ConfigItem]:
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    admin = clients.of(cluster).admin()
    futures = admin.describe_configs([resource], request_timeout=cluster.timeout_s)
    entries: dict[str, ConfigEntry] = wait(
        cluster,
        futures[resource],
        f"read the configs of {topic}",
        needs=("DESCRIBE_CONFIGS", f"topic {topic}"),
    )
    items = []
    for name, e in sorted(entries.items()):
        override = _is_topic_override(e)
        items.append(
            ConfigItem(
                name=name,
                value=e.value,
                source="override" if override else ("default" if e.is_default else _source(e)),
                is_default=not override,
                read_only=bool(e.is_read_only),
                sensitive=bool(e.is_sensitive),
            )
        )
    return items


def _source(entry: ConfigEntry) -> str:
    source = entry.source
    try:
        name = ConfigSource(source).name if isinstance(source, int) else source.name
    except (ValueError, AttributeError):
        name = str(source)
    return {
        "DEFAULT_CONFIG": "default",
        "STATIC_BROKER_CONFIG": "broker",
        "DYNAMIC_DEFAULT_BROKER_CONFIG": "broker",
        "DYNAMIC_BROKER_CONFIG": "broker",
    }.get(name, name.lower())


def _is_topic_override(entry: ConfigEntry) -> bool:
    source = entry.source
    value = source if isinstance(source, int) else getattr(source, "value", None)
    return value == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
