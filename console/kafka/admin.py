"""Cluster administration for the console: the one door the topic pages go through.

Owns the changes (create and delete topics, configs, partitions, record deletion) and the
single-topic reads of the detail page, through confluent-kafka's AdminClient, and after
every change patches the cached snapshot (`console.kafka.snapshot.refresh_topics`) so the
next page shows it. Cluster-wide reads live in `console.kafka.reads` (bulk protocol
requests through kafka-python, `console.kafka.wire`) and their caching in
`console.kafka.snapshot`; their public names are importable from here too. Every call has
a timeout; every failure becomes a readable `ClusterError`.

It must never read logstore's files nor import logstore: it speaks the Kafka protocol only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any, TypeVar

from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
)

from console.kafka import reads, wire
from console.kafka.clusters import ClusterConfig
from console.kafka.errors import ClusterError, TopicNotFound, readable
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
    "admin_client",
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

T = TypeVar("T")

# --------------------------------------------------------------------------- clients

_clients: dict[tuple[str, str], AdminClient] = {}
_clients_lock = threading.Lock()


def admin_client(cluster: ClusterConfig) -> AdminClient:
    """One AdminClient per cluster configuration, kept for the process's lifetime."""
    key = (cluster.slug, repr(sorted(cluster.client_config().items())))
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            conf = {
                **cluster.client_config(),
                "socket.timeout.ms": int(wire.timeout_s() * 1000),
                "reconnect.backoff.max.ms": 1000,
            }
            client = _clients[key] = AdminClient(conf)
        return client


def _wait(future: Future[T], what: str) -> T:
    try:
        return future.result(timeout=wire.timeout_s() + 1)
    except Exception as exc:
        raise ClusterError(f"Could not {what}: {readable(exc)}") from exc


def forget_cluster(cluster: ClusterConfig) -> None:
    """Drop every client and cached figure of `cluster`'s slug (its settings changed)."""
    invalidate(cluster)
    wire.drop(cluster)
    with _clients_lock:
        for key in [k for k in _clients if k[0] == cluster.slug]:
            del _clients[key]


def reset() -> None:
    """Forget every snapshot and close kafka-python's clients too (tests, between clusters)."""
    invalidate_all()
    wire.close_all()


# --------------------------------------------------------------------------- reading


def metadata(cluster: ClusterConfig) -> Any:
    """confluent-kafka's ClusterMetadata of every topic."""
    try:
        return admin_client(cluster).list_topics(timeout=wire.timeout_s())
    except KafkaException as exc:
        raise ClusterError(
            f"Cluster {cluster.slug} ({cluster.bootstrap}) is unreachable: {readable(exc)}"
        ) from exc


def topic_configs(
    cluster: ClusterConfig, topics: Iterable[str], names: Iterable[str] = SNAPSHOT_CONFIGS
) -> dict[str, dict[str, str]]:
    """Selected config values per topic, in one DescribeConfigs that names only those keys
    (librdkafka cannot name keys: all ~40 configs of 1,000 topics cost ten times more)."""
    wanted, keys = list(topics), list(names)
    if not wanted:
        return {}

    async def read(manager: Any) -> dict[str, dict[str, str]]:
        request = reads.describe_configs_request(wanted, keys)
        node = manager.least_loaded_node()
        answers = await wire.gather(manager, [(("configs", node), request, node)], wire.timeout_s())
        warnings: list[str] = []
        found = reads.configs_from(answers, warnings)
        if warnings:
            raise ClusterError(warnings[0])
        return found

    return wire.run(cluster, "read topic configs", read)


def partition_details(cluster: ClusterConfig, topic: str) -> TopicInfo:
    """One topic, fresh from the cluster (never the cached snapshot)."""

    async def read(manager: Any) -> tuple[reads.Layout, reads.Filled]:
        return await reads.read_topics(
            manager, [topic], now_ms=int(time.time() * 1000), limit_s=wire.timeout_s()
        )

    layout, filled = wire.run(cluster, f"read topic {topic}", read)
    info = reads.require(layout, topic)
    info.configs = filled.configs.get(topic, {})
    return info


def describe_topic_configs(cluster: ClusterConfig, topic: str) -> list[ConfigItem]:
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    futures = admin_client(cluster).describe_configs([resource], request_timeout=wire.timeout_s())
    entries: dict[str, ConfigEntry] = _wait(futures[resource], f"read the configs of {topic}")
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


# --------------------------------------------------------------------------- changes


def _changed(cluster: ClusterConfig, topic: str) -> None:
    """Every change ends here: the cached snapshot learns the topic's new state."""
    refresh_topics(cluster, [topic])


def create_topic(
    cluster: ClusterConfig, name: str, partitions: int, configs: dict[str, str] | None = None
) -> None:
    # replication_factor -1: the cluster's default (1 on the bundled broker).
    new = NewTopic(name, num_partitions=partitions, replication_factor=-1, config=configs or {})
    futures = admin_client(cluster).create_topics([new], request_timeout=wire.timeout_s())
    try:
        _wait(futures[name], f"create topic {name}")
        _await_metadata(cluster, name, present=True)
    finally:
        _changed(cluster, name)


def delete_topic(cluster: ClusterConfig, name: str) -> None:
    futures = admin_client(cluster).delete_topics([name], request_timeout=wire.timeout_s())
    try:
        _wait(futures[name], f"delete topic {name}")
        _await_metadata(cluster, name, present=False)
    finally:
        _changed(cluster, name)


def _await_metadata(cluster: ClusterConfig, topic: str, present: bool) -> None:
    """Wait (bounded) until the brokers' metadata agrees with a create or delete.

    Apache Kafka acknowledges CreateTopics/DeleteTopics once the controller has it; the
    broker answering the next page may learn of it a moment later, and a page that says
    "no such topic" right after "created" is worse than a short wait.
    """
    deadline = time.monotonic() + wire.timeout_s()
    client = admin_client(cluster)
    while time.monotonic() < deadline:
        try:
            # All topics, never one by name: naming it may auto-create it again.
            md = client.list_topics(timeout=wire.timeout_s())
        except KafkaException:
            return
        meta = md.topics.get(topic)
        exists = meta is not None and meta.error is None and bool(meta.partitions)
        if exists == present:
            return
        time.sleep(0.05)


def alter_topic_configs(cluster: ClusterConfig, topic: str, changes: dict[str, str | None]) -> None:
    """Set each config to its value, or back to the default where the value is None."""
    entries = [
        ConfigEntry(
            name,
            value,
            incremental_operation=(
                AlterConfigOpType.DELETE if value is None else AlterConfigOpType.SET
            ),
        )
        for name, value in changes.items()
    ]
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=entries)
    futures = admin_client(cluster).incremental_alter_configs(
        [resource], request_timeout=wire.timeout_s()
    )
    try:
        _wait(next(iter(futures.values())), f"change the configs of {topic}")
    finally:
        _changed(cluster, topic)


def add_partitions(cluster: ClusterConfig, topic: str, new_total: int) -> None:
    futures = admin_client(cluster).create_partitions(
        [NewPartitions(topic, new_total)], request_timeout=wire.timeout_s()
    )
    try:
        _wait(futures[topic], f"add partitions to {topic}")
    finally:
        _changed(cluster, topic)


def delete_records(cluster: ClusterConfig, topic: str, before: dict[int, int]) -> dict[int, int]:
    """Move each partition's start offset up to `before[p]`; returns the new start offsets."""
    request = [TopicPartition(topic, p, offset) for p, offset in before.items()]
    futures = admin_client(cluster).delete_records(request, request_timeout=wire.timeout_s())
    try:
        done = {
            tp.partition: _wait(f, f"delete records of {topic}[{tp.partition}]")
            for tp, f in futures.items()
        }
    finally:
        _changed(cluster, topic)
    return {p: info.low_watermark for p, info in done.items()}
