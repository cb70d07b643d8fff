"""A broker's own configuration: reading every config of one broker, changing one at runtime.

Owns DescribeConfigs and IncrementalAlterConfigs on the BROKER resource (the node id as
its name), with each value's source, read-only and sensitive flags and synonyms, as
`BrokerConfig`s. It must never decide who may change a config, nor change more than the one
config it was asked to; a broker's refusal becomes `Refused` with Kafka's own sentence.
"""

from __future__ import annotations

import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource

from console.kafka import clients
from console.kafka.config import ClusterConfig
from console.kafka.errors import (
    ClusterError,
    NotAuthorized,
    NotFound,
    Refused,
    Timeout,
    authorization_failure,
    kafka_reason,
)
from console.kafka.metadata import cluster_metadata
from console.kafka.model import BrokerConfig, int_or_none


def broker_ids(cluster: ClusterConfig) -> list[int]:
    """The node ids of the cluster's brokers, as Metadata lists them."""
    return sorted(cluster_metadata(cluster).brokers)


def describe(cluster: ClusterConfig, node_id: int) -> list[BrokerConfig]:
    """Every config of broker `node_id`, sorted by name; `NotFound` for an unknown id."""
    if node_id not in broker_ids(cluster):
        raise NotFound(f"This cluster has no broker {node_id}.")
    resource = ConfigResource(ConfigResource.Type.BROKER, str(node_id))
    futures = (
        clients.of(cluster).admin().describe_configs([resource], request_timeout=cluster.timeout_s)
    )
    entries: dict[str, ConfigEntry] = _answer(
        cluster, futures[resource], f"read the configs of broker {node_id}", "DESCRIBE_CONFIGS"
    )
    return [_item(e) for _, e in sorted(entries.items())]


def config_of(cluster: ClusterConfig, node_id: int, name: str) -> BrokerConfig | None:
    return next((c for c in describe(cluster, node_id) if c.name == name), None)


def alter(cluster: ClusterConfig, node_id: int, name: str, value: str | None) -> BrokerConfig:
    """Set `name` on broker `node_id` at runtime, or remove its runtime value where `value`
    is None (back to the file's or the default). Returns the config as the broker then
    reports it."""
    operation = AlterConfigOpType.DELETE if value is None else AlterConfigOpType.SET
    entry = ConfigEntry(name, value, incremental_operation=operation)
    resource = ConfigResource(ConfigResource.Type.BROKER, str(node_id), incremental_configs=[entry])
    futures = (
        clients.of(cluster)
        .admin()
        .incremental_alter_configs([resource], request_timeout=cluster.timeout_s)
    )
    _answer(
        cluster,
        next(iter(futures.values())),
        f"change {name} of broker {node_id}",
        "ALTER_CONFIGS",
    )
    return _settled(cluster, node_id, name, value)


def _settled(cluster: ClusterConfig, node_id: int, name: str, value: str | None) -> BrokerConfig:
    """The config once the broker reports the change (bounded wait).

    Apache Kafka answers the alteration once its controller has it; the broker applies it
    when the metadata reaches it, so a read straight after may still show the old value.
    """
    deadline = time.monotonic() + cluster.timeout_s
    while True:
        found = config_of(cluster, node_id, name)
        if found is None:
            raise NotFound(f"Broker {node_id} has no config called {name!r}.")
        if value is None:
            # A cluster-wide runtime default (DYNAMIC_DEFAULT_BROKER_CONFIG) may remain.
            applied = found.source != "DYNAMIC_BROKER_CONFIG"
        else:
            applied = found.origin == "dynamic" and same_value(found.value, value)
        if applied or time.monotonic() >= deadline:
            return found
        time.sleep(0.05)


def _answer(cluster: ClusterConfig, future: Future[Any], what: str, operation: str) -> Any:
    """The answer, or the refusal; `operation` on the cluster is what a refusal lacks."""
    try:
        return future.result(timeout=cluster.timeout_s + 1)
    except KafkaException as exc:
        if authorization_failure(exc):
            raise NotAuthorized(operation, "the cluster", what) from exc
        err = exc.args[0] if exc.args else None
        code = err.code() if isinstance(err, KafkaError) else None
        if code in (KafkaError._TRANSPORT, KafkaError._TIMED_OUT):
            raise Timeout(f"Could not {what}: the cluster did not answer in time.") from exc
        raise Refused(f"Could not {what}: {kafka_reason(exc)}") from exc
    except TimeoutError as exc:
        raise Timeout(f"Could not {what}: the cluster did not answer in time.") from exc
    except Exception as exc:
        raise ClusterError(f"Could not {what}: {exc}") from exc


def _source_name(entry: ConfigEntry) -> str:
    # confluent-kafka gives the source as a plain int in some places, an enum in others.
    source = entry.source
    try:
        return ConfigSource(source).name if isinstance(source, int) else str(source.name)
    except (ValueError, AttributeError):
        return str(source)


def same_value(value: str | None, wanted: str) -> bool:
    """Does the broker's value say what was set? Doubles come back written as doubles
    ("1000000" -> "1000000.0")."""
    if value == wanted:
        return True
    try:
        return value is not None and float(value) == float(wanted)
    except ValueError:
        return False


def _item(entry: ConfigEntry) -> BrokerConfig:
    # Kafka's chain also lists the coarser names that set the same thing
    # (log.retention.hours beside log.retention.ms): their values are in other units.
    synonyms = tuple(
        (_source_name(s), s.value)
        for s in (entry.synonyms or {}).values()
        if s is not None and s.name == entry.name
    )
    return BrokerConfig(
        name=entry.name,
        value=entry.value,
        source=_source_name(entry),
        read_only=bool(entry.is_read_only),
        sensitive=bool(entry.is_sensitive),
        synonyms=synonyms,
    )


@dataclass(frozen=True)
class ReplicationDefaults:
    brokers: int
    replication_factor: int | None  # default.replication.factor; None: not readable
    min_insync: int | None

    @property
    def tolerated(self) -> int | None:
        """Brokers that may be down while acks=all writes still succeed."""
        if self.replication_factor is None or self.min_insync is None:
            return None
        return max(0, self.replication_factor - self.min_insync)


def replication_defaults(cluster: ClusterConfig) -> ReplicationDefaults | None:
    """The cluster's defaults for new topics, read from its first broker; None when the
    cluster does not answer (a form must still show)."""
    try:
        ids = broker_ids(cluster)
        items = {c.name: c.value for c in describe(cluster, ids[0])} if ids else {}
    except ClusterError:
        return None
    return ReplicationDefaults(
        brokers=len(ids),
        replication_factor=int_or_none(items.get("default.replication.factor")),
        min_insync=int_or_none(items.get("min.insync.replicas")),
    )
