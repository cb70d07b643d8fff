"""Cluster administration for the console: topics, configs, offsets and sizes.

Owns every admin call the topic pages make, through confluent-kafka's AdminClient, plus
kafka-python's admin for the two calls librdkafka cannot make (DESIGN.md §4): DescribeLogDirs
(sizes) and DescribeConfigs naming only the keys wanted.
Every call has a timeout; every failure becomes a readable `ClusterError`. A cluster-wide
`Snapshot` (metadata, offsets, timestamps, sizes, retention configs) is cached for a few
seconds per cluster so that list pages answer quickly; changes call `invalidate`.

It must never read logstore's files nor import logstore: it speaks the Kafka protocol only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from confluent_kafka import KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    OffsetSpec,
)
from django.conf import settings

from console.kafka.clusters import ClusterConfig

T = TypeVar("T")

# kafka-python narrates every connection at INFO; the console log is for people.
logging.getLogger("kafka").setLevel(logging.WARNING)

SNAPSHOT_TTL = 10.0  # seconds a snapshot is served before the next page refreshes it
RECENT_WINDOW_MS = 60_000  # "messages in the last minute"
SNAPSHOT_CONFIGS = ("retention.ms", "retention.bytes", "cleanup.policy")


class ClusterError(Exception):
    """A cluster call failed; `str()` is a sentence a person can act on."""


# --------------------------------------------------------------------------- data


@dataclass
class PartitionInfo:
    partition: int
    leader: int
    start: int = -1
    end: int = -1
    size: int | None = None
    oldest_ts: int | None = None
    newest_ts: int | None = None
    recent_start: int | None = None  # offset of the first record of the last minute

    @property
    def messages(self) -> int:
        return max(0, self.end - self.start) if self.start >= 0 and self.end >= 0 else 0

    @property
    def recent_messages(self) -> int:
        if self.recent_start is None or self.end < 0:
            return 0
        return max(0, self.end - self.recent_start)


@dataclass
class TopicInfo:
    name: str
    partitions: list[PartitionInfo]
    configs: dict[str, str] = field(default_factory=dict)
    error: str = ""

    @property
    def internal(self) -> bool:
        return self.name.startswith("__")

    @property
    def messages(self) -> int:
        return sum(p.messages for p in self.partitions)

    @property
    def recent_messages(self) -> int:
        return sum(p.recent_messages for p in self.partitions)

    @property
    def size(self) -> int | None:
        sizes = [p.size for p in self.partitions]
        return None if not sizes or None in sizes else sum(s for s in sizes if s is not None)

    @property
    def oldest_ts(self) -> int | None:
        stamps = [p.oldest_ts for p in self.partitions if p.oldest_ts is not None]
        return min(stamps) if stamps else None

    @property
    def newest_ts(self) -> int | None:
        stamps = [p.newest_ts for p in self.partitions if p.newest_ts is not None]
        return max(stamps) if stamps else None

    @property
    def retention_ms(self) -> int | None:
        return _int_or_none(self.configs.get("retention.ms"))

    @property
    def retention_bytes(self) -> int | None:
        return _int_or_none(self.configs.get("retention.bytes"))

    @property
    def cleanup_policy(self) -> str:
        return self.configs.get("cleanup.policy", "")


@dataclass
class Snapshot:
    cluster: str
    taken_at_ms: int
    brokers: dict[int, str]
    topics: dict[str, TopicInfo]
    warnings: list[str] = field(default_factory=list)
    took_s: float = 0.0

    @property
    def partition_count(self) -> int:
        return sum(len(t.partitions) for t in self.topics.values())


@dataclass(frozen=True)
class ConfigItem:
    name: str
    value: str | None
    source: str  # "default", "override" (topic), or the broker-level source name
    is_default: bool
    read_only: bool
    sensitive: bool


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _now_ms() -> int:
    return int(time.time() * 1000)


# --------------------------------------------------------------------------- clients

_clients: dict[tuple[str, str], AdminClient] = {}
_clients_lock = threading.Lock()


def _timeout() -> float:
    return float(settings.ODRADEK_CLUSTER_TIMEOUT)


def admin_client(cluster: ClusterConfig) -> AdminClient:
    """One AdminClient per cluster configuration, kept for the process's lifetime."""
    key = (cluster.slug, repr(sorted(cluster.client_config().items())))
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            conf = {
                **cluster.client_config(),
                "socket.timeout.ms": int(_timeout() * 1000),
                "reconnect.backoff.max.ms": 1000,
            }
            client = _clients[key] = AdminClient(conf)
        return client


def _readable(exc: BaseException) -> str:
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        err: KafkaError = exc.args[0]
        text = err.str() or err.name()
        if err.code() == KafkaError._TRANSPORT or err.code() == KafkaError._TIMED_OUT:
            return f"the cluster did not answer in time ({text})"
        return text
    if isinstance(exc, TimeoutError):
        return "the cluster did not answer in time"
    return str(exc) or type(exc).__name__


def _wait(future: Future[T], what: str) -> T:
    try:
        return future.result(timeout=_timeout() + 1)
    except Exception as exc:
        raise ClusterError(f"Could not {what}: {_readable(exc)}") from exc


def _wait_all(
    futures: dict[Any, Future[T]], timeout: float | None = None
) -> tuple[dict[Any, T], dict[Any, str]]:
    """Per-key results and per-key errors; one bad partition does not hide the rest."""
    deadline = time.monotonic() + (timeout if timeout is not None else _timeout() + 1)
    results: dict[Any, T] = {}
    errors: dict[Any, str] = {}
    for key, future in futures.items():
        try:
            results[key] = future.result(timeout=max(0.01, deadline - time.monotonic()))
        except Exception as exc:
            errors[key] = _readable(exc)
    return results, errors


# --------------------------------------------------------------------------- reading


def metadata(cluster: ClusterConfig) -> Any:
    try:
        return admin_client(cluster).list_topics(timeout=_timeout())
    except KafkaException as exc:
        raise ClusterError(
            f"Cluster {cluster.slug} ({cluster.bootstrap}) is unreachable: {_readable(exc)}"
        ) from exc


def _request_offsets(
    client: AdminClient, parts: list[TopicPartition], spec_for: Callable[[], OffsetSpec]
) -> dict[Any, Future[Any]]:
    if not parts:
        return {}
    request = {TopicPartition(p.topic, p.partition): spec_for() for p in parts}
    return client.list_offsets(request, request_timeout=_bulk_timeout())


def _bulk_timeout() -> float:
    # A cluster that answered Metadata is up; thousands of partitions may take longer than
    # one call's timeout on a busy machine, and a partial answer is worse than a slow one.
    return _timeout() * 3


def _offsets_result(futures: dict[Any, Future[Any]]) -> tuple[dict[tuple[str, int], Any], int]:
    done, errors = _wait_all(futures, _bulk_timeout())
    return {(tp.topic, tp.partition): info for tp, info in done.items()}, len(errors)


def _offsets(
    client: AdminClient, parts: list[TopicPartition], spec_for: Callable[[], OffsetSpec]
) -> tuple[dict[tuple[str, int], Any], int]:
    return _offsets_result(_request_offsets(client, parts, spec_for))


def topic_configs(
    cluster: ClusterConfig, topics: Iterable[str], names: Iterable[str] = SNAPSHOT_CONFIGS
) -> dict[str, dict[str, str]]:
    """Selected config values per topic, in one DescribeConfigs that names only those keys.

    Through kafka-python, because librdkafka cannot name keys: asking for all ~40 configs
    of 1,000 topics costs broker and client about ten times more than asking for three.
    """
    from kafka.admin import ConfigResource as KafkaPythonResource

    wanted = list(names)
    resources = [KafkaPythonResource("TOPIC", t, configs=dict.fromkeys(wanted)) for t in topics]
    if not resources:
        return {}
    answer = _kafka_python_call(
        cluster,
        "read topic configs",
        lambda client: client.describe_configs(resources, config_filter="all"),
    )
    return {
        topic: {k: v["value"] for k, v in entries.items() if v.get("value") is not None}
        for topic, entries in answer.get("topic", {}).items()
    }


# Configs change rarely and only by hand; the console's own changes invalidate them.
CONFIGS_TTL = 60.0
_configs_cache: dict[str, tuple[float, dict[str, dict[str, str]]]] = {}


def build_snapshot(cluster: ClusterConfig) -> Snapshot:
    """Everything the list pages show. All requests go out at once and are awaited
    together, so the build takes about as long as the slowest answer, not their sum."""
    started = time.monotonic()
    md = metadata(cluster)
    client = admin_client(cluster)
    topics: dict[str, TopicInfo] = {}
    parts: list[TopicPartition] = []
    for name, tmeta in md.topics.items():
        if tmeta.error is not None:
            topics[name] = TopicInfo(name, [], error=str(tmeta.error))
            continue
        infos = [
            PartitionInfo(partition=pid, leader=pmeta.leader)
            for pid, pmeta in sorted(tmeta.partitions.items())
        ]
        topics[name] = TopicInfo(name, infos)
        parts += [TopicPartition(name, p.partition) for p in infos]

    key = _key(cluster)
    generation = _generation
    cached_configs = _configs_cache.get(key)
    names = [t for t in topics if not topics[t].error]
    configs_fresh = (
        cached_configs is not None
        and time.monotonic() - cached_configs[0] < CONFIGS_TTL
        and set(names) <= set(cached_configs[1])
    )

    recent_ts = _now_ms() - RECENT_WINDOW_MS
    lookups: dict[str, Callable[[], OffsetSpec]] = {
        "start": OffsetSpec.earliest,
        "end": OffsetSpec.latest,
        "oldest": lambda: OffsetSpec.for_timestamp(0),
        "newest": OffsetSpec.max_timestamp,
        "recent": lambda: OffsetSpec.for_timestamp(recent_ts),
    }
    pending = {k: _request_offsets(client, parts, spec) for k, spec in lookups.items()}

    warnings: list[str] = []
    if cached_configs is not None and configs_fresh:
        all_configs = cached_configs[1]
    else:
        try:
            all_configs = topic_configs(cluster, names)
        except ClusterError as exc:
            warnings.append(str(exc))
            all_configs = {}
        with _state_lock:
            if generation == _generation and all_configs:  # see `_rebuild`
                _configs_cache[key] = (time.monotonic(), all_configs)
    try:
        sizes = log_dir_sizes(
            cluster,
            {t.name: [p.partition for p in t.partitions] for t in topics.values() if t.partitions},
        )
    except ClusterError as exc:
        warnings.append(str(exc))
        sizes = {}

    answers: dict[str, dict[tuple[str, int], Any]] = {}
    for k, futures in pending.items():
        answers[k], failed = _offsets_result(futures)
        if failed:
            warnings.append(f"{failed} partitions did not report their {k} offset")

    for topic in topics.values():
        topic.configs = all_configs.get(topic.name, {})
        for p in topic.partitions:
            tp = (topic.name, p.partition)
            p.size = sizes.get(tp)
            if (a := answers["start"].get(tp)) is not None:
                p.start = a.offset
            if (a := answers["end"].get(tp)) is not None:
                p.end = a.offset
            if (a := answers["oldest"].get(tp)) is not None and a.offset >= 0:
                p.oldest_ts = a.timestamp if a.timestamp >= 0 else None
            if (a := answers["newest"].get(tp)) is not None and a.offset >= 0:
                p.newest_ts = a.timestamp if a.timestamp >= 0 else None
            if (a := answers["recent"].get(tp)) is not None:
                p.recent_start = a.offset if a.offset >= 0 else p.end

    return Snapshot(
        cluster=cluster.slug,
        taken_at_ms=_now_ms(),
        brokers={b.id: f"{b.host}:{b.port}" for b in md.brokers.values()},
        topics=topics,
        warnings=warnings,
        took_s=time.monotonic() - started,
    )


# Snapshots older than SNAPSHOT_TTL are served once more while a background thread
# rebuilds them (stale-while-revalidate), up to MAX_STALE; past that a page waits for a
# fresh one, so nobody sees data older than MAX_STALE seconds.
MAX_STALE = 120.0
_snapshots: dict[str, tuple[float, Snapshot]] = {}
_snapshot_locks: dict[str, threading.Lock] = {}
_refreshing: set[str] = set()
_state_lock = threading.Lock()
_generation = 0  # bumped by every invalidation


def _key(cluster: ClusterConfig) -> str:
    return cluster.bootstrap + "|" + cluster.slug


def _rebuild(cluster: ClusterConfig, key: str) -> Snapshot:
    with _state_lock:
        lock = _snapshot_locks.setdefault(key, threading.Lock())
        generation = _generation
    with lock:
        fresh = build_snapshot(cluster)
        with _state_lock:
            # An invalidation while this was being built means it may predate a change;
            # hand it to this caller but do not let it overwrite what comes next.
            if generation == _generation:
                _snapshots[key] = (time.monotonic(), fresh)
        return fresh


def _refresh_in_background(cluster: ClusterConfig, key: str) -> None:
    def run() -> None:
        try:
            _rebuild(cluster, key)
        except ClusterError:
            pass  # the next page past MAX_STALE rebuilds in the foreground and shows why
        finally:
            with _state_lock:
                _refreshing.discard(key)

    with _state_lock:
        if key in _refreshing:
            return
        _refreshing.add(key)
    threading.Thread(target=run, name=f"snapshot {cluster.slug}", daemon=True).start()


def snapshot(cluster: ClusterConfig, max_age: float = SNAPSHOT_TTL) -> Snapshot:
    """The cluster-wide snapshot: cached if younger than `max_age` seconds, the stale one
    (with a refresh started) if younger than MAX_STALE, else a fresh one.

    One build per cluster runs at a time; other pages wait for it instead of piling the
    same requests onto the cluster.
    """
    key = _key(cluster)
    cached = _snapshots.get(key)
    if cached:
        age = time.monotonic() - cached[0]
        if age < max_age:
            return cached[1]
        if age < max(MAX_STALE, max_age):
            _refresh_in_background(cluster, key)
            return cached[1]
    with _state_lock:
        lock = _snapshot_locks.setdefault(key, threading.Lock())
    with lock:
        # Another page may have built it while this one waited for the lock.
        cached = _snapshots.get(key)
        if cached and time.monotonic() - cached[0] < max_age:
            return cached[1]
    return _rebuild(cluster, key)


def invalidate(cluster: ClusterConfig) -> None:
    global _generation
    with _state_lock:
        _generation += 1
        _snapshots.pop(_key(cluster), None)
        _configs_cache.pop(_key(cluster), None)


def invalidate_all() -> None:
    """Forget every cached snapshot (clients stay connected)."""
    global _generation
    with _state_lock:
        _generation += 1
        _snapshots.clear()
        _configs_cache.clear()


def reset() -> None:
    """Forget every snapshot and close kafka-python's clients too (tests, between clusters:
    their background metadata loops would otherwise outlive the clusters they watch)."""
    invalidate_all()
    with _kp_lock:
        for client in _kp_clients.values():
            try:
                client.close()
            except Exception:  # closing a client of a dead cluster may fail; nothing to keep
                pass
        _kp_clients.clear()


def describe_topic_configs(cluster: ClusterConfig, topic: str) -> list[ConfigItem]:
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    futures = admin_client(cluster).describe_configs([resource], request_timeout=_timeout())
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


def partition_details(cluster: ClusterConfig, topic: str) -> TopicInfo:
    """One topic, fresh from the cluster (never the cached snapshot)."""
    md = metadata(cluster)
    tmeta = md.topics.get(topic)
    if tmeta is None or (
        tmeta.error is not None and tmeta.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    ):
        raise TopicNotFound(topic)
    info = TopicInfo(
        topic,
        [
            PartitionInfo(partition=pid, leader=pm.leader)
            for pid, pm in sorted(tmeta.partitions.items())
        ],
    )
    client = admin_client(cluster)
    parts = [TopicPartition(topic, p.partition) for p in info.partitions]
    start, _ = _offsets(client, parts, OffsetSpec.earliest)
    end, _ = _offsets(client, parts, OffsetSpec.latest)
    oldest, _ = _offsets(client, parts, lambda: OffsetSpec.for_timestamp(0))
    newest, _ = _offsets(client, parts, OffsetSpec.max_timestamp)
    try:
        sizes = log_dir_sizes(cluster, {topic: [p.partition for p in info.partitions]})
    except ClusterError:
        sizes = {}
    for p in info.partitions:
        tp = (topic, p.partition)
        p.start = start[tp].offset if tp in start else -1
        p.end = end[tp].offset if tp in end else -1
        if tp in oldest and oldest[tp].offset >= 0 and oldest[tp].timestamp >= 0:
            p.oldest_ts = oldest[tp].timestamp
        if tp in newest and newest[tp].offset >= 0 and newest[tp].timestamp >= 0:
            p.newest_ts = newest[tp].timestamp
        p.size = sizes.get(tp)
    return info


# --------------------------------------------------------------------------- changes


class TopicNotFound(ClusterError):
    def __init__(self, topic: str) -> None:
        super().__init__(f"There is no topic called {topic!r} on this cluster.")
        self.topic = topic


def create_topic(
    cluster: ClusterConfig, name: str, partitions: int, configs: dict[str, str] | None = None
) -> None:
    # replication_factor -1: the cluster's default (1 on the bundled broker).
    new = NewTopic(name, num_partitions=partitions, replication_factor=-1, config=configs or {})
    futures = admin_client(cluster).create_topics([new], request_timeout=_timeout())
    try:
        _wait(futures[name], f"create topic {name}")
        _await_metadata(cluster, name, present=True)
    finally:
        invalidate(cluster)


def delete_topic(cluster: ClusterConfig, name: str) -> None:
    futures = admin_client(cluster).delete_topics([name], request_timeout=_timeout())
    try:
        _wait(futures[name], f"delete topic {name}")
        _await_metadata(cluster, name, present=False)
    finally:
        invalidate(cluster)


def _await_metadata(cluster: ClusterConfig, topic: str, present: bool) -> None:
    """Wait (bounded) until the brokers' metadata agrees with a create or delete.

    Apache Kafka acknowledges CreateTopics/DeleteTopics once the controller has it; the
    broker answering the next page may learn of it a moment later, and a page that says
    "no such topic" right after "created" is worse than a short wait.
    """
    deadline = time.monotonic() + _timeout()
    client = admin_client(cluster)
    while time.monotonic() < deadline:
        try:
            # All topics, never one by name: naming it may auto-create it again.
            md = client.list_topics(timeout=_timeout())
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
        [resource], request_timeout=_timeout()
    )
    try:
        _wait(next(iter(futures.values())), f"change the configs of {topic}")
    finally:
        invalidate(cluster)


def add_partitions(cluster: ClusterConfig, topic: str, new_total: int) -> None:
    futures = admin_client(cluster).create_partitions(
        [NewPartitions(topic, new_total)], request_timeout=_timeout()
    )
    try:
        _wait(futures[topic], f"add partitions to {topic}")
    finally:
        invalidate(cluster)


def delete_records(cluster: ClusterConfig, topic: str, before: dict[int, int]) -> dict[int, int]:
    """Move each partition's start offset up to `before[p]`; returns the new start offsets."""
    request = [TopicPartition(topic, p, offset) for p, offset in before.items()]
    futures = admin_client(cluster).delete_records(request, request_timeout=_timeout())
    try:
        done = {
            tp.partition: _wait(f, f"delete records of {topic}[{tp.partition}]")
            for tp, f in futures.items()
        }
    finally:
        invalidate(cluster)
    return {p: info.low_watermark for p, info in done.items()}


# --------------------------------------------------------------------------- kafka-python

# kafka-python's admin client: only for what librdkafka lacks (DescribeLogDirs, and
# DescribeConfigs naming keys). One per cluster; calls are serialised by the lock.
_kp_clients: dict[str, Any] = {}
_kp_lock = threading.Lock()


def _kafka_python_config(cluster: ClusterConfig) -> dict[str, Any]:
    conf: dict[str, Any] = {
        "bootstrap_servers": cluster.bootstrap.split(","),
        "security_protocol": cluster.security_protocol,
        "request_timeout_ms": int(_bulk_timeout() * 1000),
        "client_id": "odradek-console",
    }
    if cluster.sasl_mechanism:
        conf |= {
            "sasl_mechanism": cluster.sasl_mechanism,
            "sasl_plain_username": cluster.sasl_username,
            "sasl_plain_password": cluster.sasl_password,
        }
    if cluster.ssl_ca_pem:
        conf["ssl_cafile"] = cluster.client_config()["ssl.ca.location"]
    return conf


def _kafka_python_call(cluster: ClusterConfig, what: str, call: Callable[[Any], T]) -> T:
    """Run `call` with this cluster's kafka-python admin client (kept between calls)."""
    from kafka.admin import KafkaAdminClient

    key = _key(cluster)
    with _kp_lock:
        try:
            client = _kp_clients.get(key)
            if client is None:
                client = _kp_clients[key] = KafkaAdminClient(**_kafka_python_config(cluster))
            return call(client)
        except Exception as exc:
            broken = _kp_clients.pop(key, None)
            if broken is not None:
                try:
                    broken.close()
                except Exception:  # a client of a dead cluster may fail to close; drop it
                    pass
            raise ClusterError(f"Could not {what}: {_readable(exc)}") from exc


def log_dir_sizes(
    cluster: ClusterConfig, partitions: dict[str, list[int]]
) -> dict[tuple[str, int], int]:
    """Bytes on disk per (topic, partition), from DescribeLogDirs on every broker.

    The partitions are named explicitly: given only topic names (or none), kafka-python
    first asks for every topic's metadata again, which costs as much as the sizes."""
    if not partitions:
        return {}
    answers = _kafka_python_call(
        cluster, "read partition sizes", lambda client: client.describe_log_dirs(partitions)
    )
    sizes: dict[tuple[str, int], int] = {}
    for answer in answers:
        for log_dir in _field(answer, "log_dirs"):
            for topic in _field(log_dir, "topics"):
                name = _field(topic, "name")
                for part in _field(topic, "partitions"):
                    tp = (name, _field(part, "partition_index"))
                    sizes[tp] = sizes.get(tp, 0) + _field(part, "partition_size")
    return sizes


def _field(obj: Any, name: str) -> Any:
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)
