"""Changing topics: create, delete, configs, partitions, record deletion.

Owns every topic change, through the cluster's AdminClient, and after each one patches
the cached snapshot (`console.kafka.snapshot.refresh_topics`) so the next page shows it.
It must never change anything it was not asked to, and never leave the snapshot stale.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

from confluent_kafka import TopicPartition
from confluent_kafka.admin import (
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
)

from console.kafka import clients
from console.kafka.config import ClusterConfig
from console.kafka.errors import ClusterError, NotAuthorized, authorization_failure, readable
from console.kafka.metadata import await_topic
from console.kafka.snapshot import drop_topics, invalidate, refresh_topics

T = TypeVar("T")


def wait(
    cluster: ClusterConfig, future: Future[T], what: str, needs: tuple[str, str] | None = None
) -> T:
    """The answer of one admin call, or `ClusterError("Could not <what>: ...")`; `needs`
    (operation, resource) names the permission an authorization failure lacks."""
    try:
        return future.result(timeout=cluster.timeout_s + 1)
    except Exception as exc:
        if needs is not None and authorization_failure(exc):
            raise NotAuthorized(*needs, what) from exc
        raise ClusterError(f"Could not {what}: {readable(exc)}") from exc


def _apply(
    cluster: ClusterConfig,
    topic: str,
    answer: Callable[[], T],
    present: bool | None = None,
    partitions: int | None = None,
    configs: dict[str, str] | None = None,
) -> T:
    """Wait for one change (and, for a create or delete, for the metadata to show it),
    then let the cached snapshot learn it: a changed topic is re-read by name (until it
    shows `partitions` and `configs`, what the change made), a deleted one dropped.
    After a failure the topic may not exist, and naming it could create it (see
    `bulk.metadata_request`), so the snapshot is rebuilt from an all-topics read."""
    try:
        done = answer()
        if present is not None:
            await_topic(cluster, topic, present=present)
    except ClusterError:
        invalidate(cluster)
        raise
    if present is False:
        drop_topics(cluster, [topic])
    else:
        refresh_topics(
            cluster,
            [topic],
            None if partitions is None else {topic: partitions},
            None if not configs else {topic: configs},
        )
    return done


def create_topic(
    cluster: ClusterConfig,
    name: str,
    partitions: int,
    configs: dict[str, str] | None = None,
    replication_factor: int | None = None,
) -> None:
    # replication_factor -1: the cluster's default (1 on the bundled broker).
    rf = replication_factor or -1
    new = NewTopic(name, num_partitions=partitions, replication_factor=rf, config=configs or {})
    futures = clients.of(cluster).admin().create_topics([new], request_timeout=cluster.timeout_s)
    _apply(
        cluster,
        name,
        lambda: wait(cluster, futures[name], f"create topic {name}", ("CREATE", f"topic {name}")),
        True,
        partitions,
        configs,
    )


def delete_topic(cluster: ClusterConfig, name: str) -> None:
    futures = clients.of(cluster).admin().delete_topics([name], request_timeout=cluster.timeout_s)
    _apply(
        cluster,
        name,
        lambda: wait(cluster, futures[name], f"delete topic {name}", ("DELETE", f"topic {name}")),
        False,
    )


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
    futures = (
        clients.of(cluster)
        .admin()
        .incremental_alter_configs([resource], request_timeout=cluster.timeout_s)
    )
    future = next(iter(futures.values()))
    _apply(
        cluster,
        topic,
        lambda: wait(
            cluster, future, f"change the configs of {topic}", ("ALTER_CONFIGS", f"topic {topic}")
        ),
        configs={name: value for name, value in changes.items() if value is not None},
    )


def add_partitions(cluster: ClusterConfig, topic: str, new_total: int) -> None:
    futures = (
        clients.of(cluster)
        .admin()
        .create_partitions([NewPartitions(topic, new_total)], request_timeout=cluster.timeout_s)
    )
    _apply(
        cluster,
        topic,
        lambda: wait(
            cluster, futures[topic], f"add partitions to {topic}", ("ALTER", f"topic {topic}")
        ),
        partitions=new_total,
    )


def delete_records(cluster: ClusterConfig, topic: str, before: dict[int, int]) -> dict[int, int]:
    """Move each partition's start offset up to `before[p]`; returns the new start offsets."""
    request = [TopicPartition(topic, p, offset) for p, offset in before.items()]
    futures = clients.of(cluster).admin().delete_records(request, request_timeout=cluster.timeout_s)
    done = _apply(
        cluster,
        topic,
        lambda: {
            tp.partition: wait(
                cluster,
                f,
                f"delete records of {topic}[{tp.partition}]",
                ("DELETE", f"topic {topic}"),
            )
            for tp, f in futures.items()
        },
    )
    return {p: info.low_watermark for p, info in done.items()}
