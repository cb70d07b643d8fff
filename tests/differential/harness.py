"""Client-side helpers for differential tests: drive a cluster, return what clients saw.

Owns the small vocabulary scenarios are written in (create a topic, produce, read a
partition back, call the admin API) and `observe`, which runs one scenario against each
cluster. Every helper returns plain data (tuples, dicts, error names) so two clusters'
observations compare with `==` and a failure prints a readable diff.

It must never normalise away a difference between the clusters: only values that are
legitimately per-cluster (topic names, broker addresses, cluster ids) are left out of
observations, and each such omission says why.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.clusters import Cluster

T = TypeVar("T")

# Every client call is bounded: a broker that never answers fails the test, never hangs it.
TIMEOUT = 20.0

# librdkafka logs connection chatter at level 6/7; 3 keeps real errors visible.
QUIET = {"log_level": 3}


def unique_topic(label: str) -> str:
    return f"diff-{label}-{uuid.uuid4().hex[:10]}"


def observe(clusters: Sequence[Cluster], scenario: Callable[[Cluster], T]) -> dict[str, T]:
    """Run `scenario` against each cluster; observations keyed by cluster kind."""
    return {cluster.kind: scenario(cluster) for cluster in clusters}


def admin(cluster: Cluster) -> AdminClient:
    return AdminClient({"bootstrap.servers": cluster.bootstrap, **QUIET})


def error_name(exc: BaseException) -> str:
    """The Kafka error name a client surfaces, e.g. "TOPIC_ALREADY_EXISTS"."""
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return str(exc.args[0].name())
    return type(exc).__name__


def outcome(future: Future[Any]) -> str:
    """ "OK" or the Kafka error name a single admin future resolved to."""
    try:
        future.result(timeout=TIMEOUT)
    except Exception as exc:
        return error_name(exc)
    return "OK"


def create_topic(
    cluster: Cluster,
    topic: str,
    partitions: int = 1,
    config: Mapping[str, str] | None = None,
) -> None:
    if config is None:
        # Scenarios use fixed, long-past timestamps so both clusters see identical
        # records; infinite retention keeps those records from being expired before
        # they are read, however long a session runs (both check retention every
        # log.retention.check.interval.ms, 5 minutes).
        config = {"retention.ms": "-1"}
    new = NewTopic(topic, num_partitions=partitions, replication_factor=1, config=dict(config))
    # The client must outlive its futures: a collected AdminClient fails them with _DESTROY.
    client = admin(cluster)
    futures = client.create_topics([new], operation_timeout=TIMEOUT)
    futures[topic].result(timeout=TIMEOUT)


def produce(
    cluster: Cluster,
    topic: str,
    messages: Iterable[Mapping[str, Any]],
    warm: bool = False,
    **conf: Any,
) -> list[tuple[int, int, str]]:
    """Produce each message (kwargs of Producer.produce); (partition, offset, error) each.

    `warm`: learn the topic's leaders before the first message, so the messages wait on
    their partition from the start and leave in the batches `conf` asks for. Without it,
    they wait for the metadata first; when that takes longer than `linger.ms` (a loaded
    machine), the client sends whatever has reached the partition at once, in several
    batches (seen with librdkafka against both brokers)."""
    reports: list[tuple[int, int, str]] = []

    def delivered(err: KafkaError | None, msg: Message) -> None:
        name = err.name() if err is not None else "OK"
        partition, offset = msg.partition(), msg.offset()
        reports.append(
            (-1 if partition is None else partition, -1 if offset is None else offset, name)
        )

    producer = Producer({"bootstrap.servers": cluster.bootstrap, "linger.ms": 5, **QUIET, **conf})
    if warm:
        producer.list_topics(topic, timeout=TIMEOUT)
    for message in messages:
        producer.produce(topic, on_delivery=delivered, **message)
    remaining = producer.flush(TIMEOUT)
    assert remaining == 0, f"{remaining} messages undelivered to {cluster.name}"
    return reports


def message_view(msg: Message) -> tuple[Any, ...]:
    """Everything a consumer sees of a record, minus the topic name (unique per cluster)."""
    ts_type, ts = msg.timestamp()
    return (
        msg.partition(),
        msg.offset(),
        msg.key(),
        msg.value(),
        tuple(msg.headers() or ()),
        ts_type,
        ts,
    )


def read_partition(
    cluster: Cluster,
    topic: str,
    partition: int,
    start: int,
    count: int,
    **conf: Any,
) -> tuple[list[tuple[Any, ...]], list[str]]:
    """Read up to `count` records from `start` with assign() (no group); (records, errors)."""
    consumer = Consumer(
        {
            "bootstrap.servers": cluster.bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "error",
            "enable.partition.eof": True,
            **QUIET,
            **conf,
        }
    )
    records: list[tuple[Any, ...]] = []
    errors: list[str] = []
    try:
        consumer.assign([TopicPartition(topic, partition, start)])
        deadline = time.monotonic() + TIMEOUT
        while len(records) < count and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            err = msg.error()
            if err is None:
                records.append(message_view(msg))
            elif err.code() == KafkaError._PARTITION_EOF:
                break
            else:
                errors.append(err.name())
                break
    finally:
        consumer.close()
    return records, errors


# Kafka answers these for a moment after CreateTopics returns, until the new partition's
# leader is known to the broker serving the request (seen under CI load); they are the
# reference broker catching up, never the answer a scenario observes.
_NOT_SERVED_YET = (KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE)


def watermarks(cluster: Cluster, topic: str, partition: int = 0) -> tuple[int, int]:
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "watermarks", **QUIET})
    deadline = time.monotonic() + TIMEOUT
    try:
        while True:
            try:
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=TIMEOUT
                )
                return int(low), int(high)
            except KafkaException as exc:
                code = exc.args[0].code() if exc.args else None
                if code not in _NOT_SERVED_YET or time.monotonic() >= deadline:
                    raise
            time.sleep(0.05)
    finally:
        consumer.close()


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def differences(kafka: Any, odradek: Any, path: str = "") -> list[str]:
    """Every place two observations differ, as "path: kafka=... odradek=..." lines
    (values shortened, so a 100 KB record does not drown the message)."""
    if isinstance(kafka, dict) and isinstance(odradek, dict):
        out: list[str] = []
        for key in sorted(set(kafka) | set(odradek), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in odradek:
                out.append(f"{where}: only in kafka = {_short(kafka[key])}")
            elif key not in kafka:
                out.append(f"{where}: only in odradek = {_short(odradek[key])}")
            else:
                out.extend(differences(kafka[key], odradek[key], where))
        return out
    if isinstance(kafka, list | tuple) and isinstance(odradek, list | tuple):
        out = []
        if len(kafka) != len(odradek):
            out.append(f"{path or '<root>'}: length kafka={len(kafka)} odradek={len(odradek)}")
        for index, (k, o) in enumerate(zip(kafka, odradek, strict=False)):
            out.extend(differences(k, o, f"{path}[{index}]"))
        return out[:20]
    if kafka == odradek:
        return []
    return [f"{path or '<root>'}: kafka={_short(kafka)} odradek={_short(odradek)}"]


def assert_same(seen: Mapping[str, Any]) -> None:
    """Odradek observed exactly what Apache Kafka did; otherwise list every difference."""
    diff = differences(seen["kafka"], seen["odradek"])
    assert not diff, "Odradek differs from Apache Kafka:\n  " + "\n  ".join(diff)
