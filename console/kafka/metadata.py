"""The cluster's topics and partitions, read with one all-topics Metadata request.

Owns every librdkafka Metadata read the console makes: the topic list, one topic's
partitions (checked against what a person asked for), and waiting until a create or a
delete shows. It must never name a topic in a Metadata request: a broker that ignores
`allow_auto_topic_creation` would create a topic just because someone mistyped its name.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaException

from console.kafka import clients
from console.kafka.config import ClusterConfig
from console.kafka.errors import ClusterError, NotFound, Unreachable, kafka_reason


def cluster_metadata(cluster: ClusterConfig) -> Any:
    """confluent-kafka's ClusterMetadata of every topic."""
    try:
        return clients.of(cluster).admin().list_topics(timeout=cluster.timeout_s)
    except KafkaException as exc:
        raise Unreachable(
            clients.unreachable(cluster, f"the cluster did not answer ({kafka_reason(exc)})")
        ) from exc


def topic_names(cluster: ClusterConfig) -> list[str]:
    """Names of the cluster's topics, internal ones (leading underscore) last."""
    names = cluster_metadata(cluster).topics
    return sorted(names, key=lambda name: (name.startswith("_"), name))


def partitions_of(cluster: ClusterConfig, topic: str) -> list[int]:
    """Partition numbers of `topic`; `NotFound` if the topic does not exist."""
    info = cluster_metadata(cluster).topics.get(topic)
    if info is None or info.error is not None or not info.partitions:
        raise NotFound(f"topic {topic!r} does not exist on this cluster")
    return sorted(info.partitions)


def check_partitions(topic: str, existing: list[int], wanted: Iterable[int]) -> list[int]:
    """`wanted` sorted, or every partition when it is empty; `NotFound` names the missing."""
    chosen = sorted(set(wanted))
    if not chosen:
        return existing
    missing = sorted(set(chosen) - set(existing))
    if missing:
        raise NotFound(
            f"topic {topic!r} has partitions {existing[0]}–{existing[-1]}; "
            f"there is no partition {', '.join(map(str, missing))}"
        )
    return chosen


def await_topic(cluster: ClusterConfig, topic: str, present: bool) -> None:
    """Wait (bounded) until the brokers' metadata agrees with a create or delete.

    Apache Kafka acknowledges CreateTopics/DeleteTopics once the controller has it; the
    broker answering the next page may learn of it a moment later, and a page that says
    "no such topic" right after "created" is worse than a short wait.
    """
    deadline = time.monotonic() + cluster.timeout_s
    while time.monotonic() < deadline:
        try:
            md = cluster_metadata(cluster)
        except ClusterError:
            return
        meta = md.topics.get(topic)
        exists = meta is not None and meta.error is None and bool(meta.partitions)
        if exists == present:
            return
        time.sleep(0.05)


@dataclass(frozen=True)
class PingResult:
    ok: bool
    brokers: int = 0
    topics: int = 0
    error: str = ""


def ping(cluster: ClusterConfig) -> PingResult:
    """One metadata round trip within the cluster's timeout: brokers and topics, or why
    it failed (`/healthz` and the unreachable banner; it never raises)."""
    try:
        md = cluster_metadata(cluster)
    except ClusterError as exc:
        return PingResult(ok=False, error=str(exc))
    return PingResult(ok=True, brokers=len(md.brokers), topics=len(md.topics))
