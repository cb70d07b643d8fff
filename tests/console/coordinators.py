"""Group and transactional ids coordinated by each broker of a test cluster.

Owns Kafka's placement rule: an id belongs to partition `Utils.abs(javaHash(id)) % partitions`
of the internal topic (`__consumer_offsets` for groups, `__transaction_state` for
transactions) and is coordinated by that partition's leader. Tests use it so that on the
three-node cluster every broker coordinates something the console must find. Its one change
to a cluster is a preferred leader election on the internal topic when a node leads none of
it (leaderships a node lost, say fenced for a moment on a busy machine, come back only at
Kafka's five-minute rebalance). It must never create groups, transactions or topics; a
cluster of several brokers whose internal topic does not exist yet is a failure.
"""

from __future__ import annotations

import time
from contextlib import suppress

from confluent_kafka import ElectionType, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from tests.console import groups_helpers as h

GROUPS_TOPIC = "__consumer_offsets"
TRANSACTIONS_TOPIC = "__transaction_state"
_TRIES = 2_000


def java_hash(text: str) -> int:
    """Java's `String.hashCode` of an ASCII string, as a signed 32-bit int."""
    value = 0
    for ch in text.encode("ascii"):
        value = (31 * value + ch) & 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def kafka_abs(value: int) -> int:
    """Kafka's `Utils.abs`: Math.abs, except that the one int without a positive twin is 0."""
    return 0 if value == -(1 << 31) else abs(value)


def partition_of(bootstrap: str, internal_topic: str, some_id: str) -> int:
    """The partition of `internal_topic` that holds `some_id`."""
    info = AdminClient(h.conf(bootstrap)).list_topics(internal_topic, timeout=h.TIMEOUT)
    return kafka_abs(java_hash(some_id)) % len(info.topics[internal_topic].partitions)


def ids_per_node(bootstrap: str, internal_topic: str, prefix: str) -> dict[int, str]:
    """{broker id: a fresh id coordinated by that broker}, one for every broker."""
    metadata = AdminClient(h.conf(bootstrap)).list_topics(timeout=h.TIMEOUT)
    brokers = sorted(metadata.brokers)
    if len(brokers) == 1:
        return {brokers[0]: h.unique(prefix)}
    leaders = _leaders_on_every_broker(bootstrap, internal_topic, brokers)
    found: dict[int, str] = {}
    for _ in range(_TRIES):
        candidate = h.unique(prefix)
        found.setdefault(leaders[kafka_abs(java_hash(candidate)) % len(leaders)], candidate)
        if len(found) == len(brokers):
            return dict(sorted(found.items()))
    raise AssertionError(f"no id led by each of {brokers} in {_TRIES} tries: {leaders}")


def _leaders_on_every_broker(bootstrap: str, topic: str, brokers: list[int]) -> dict[int, int]:
    """{partition: leader} of `topic` once every broker leads a partition of it."""
    admin = AdminClient(h.conf(bootstrap))
    deadline = time.monotonic() + h.TIMEOUT
    while True:
        info = admin.list_topics(topic, timeout=h.TIMEOUT).topics.get(topic)
        assert info is not None, f"{topic} is not there yet"
        assert not info.error, f"{topic}: {info.error}"
        leaders = {p: part.leader for p, part in info.partitions.items()}
        if set(leaders.values()) >= set(brokers) or time.monotonic() > deadline:
            return leaders
        parts = [TopicPartition(topic, p) for p in leaders]
        # A refusal (a node not back yet, an election not needed) only means another look.
        with suppress(KafkaException):
            admin.elect_leaders(ElectionType.PREFERRED, parts).result(timeout=h.TIMEOUT)
        time.sleep(0.2)  # bounded by the deadline: the new leaders reach the metadata


def address_of(bootstrap: str, node: int) -> str:
    """A broker's advertised host:port, as a group description names its coordinator."""
    broker = AdminClient(h.conf(bootstrap)).list_topics(timeout=h.TIMEOUT).brokers[node]
    return f"{broker.host}:{broker.port}"
