"""Real consumers over many partitions while fetch sessions are in play.

kafka-python and Kafka's Java consumer keep an incremental fetch session per broker;
librdkafka always sends sessionless requests. Both must read every record exactly once
when data arrives on a few partitions at a time (incremental replies then leave the
others out), and kafka-python must really be inside a session by the end.
"""

from __future__ import annotations

import time
from collections import Counter

from confluent_kafka import Consumer, Producer
from confluent_kafka import TopicPartition as RdTopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer, TopicPartition

from tests.broker_fixture import BrokerProcess
from tests.clients.messages import unique_topic
from tests.java.verifiable import named, verifiable_consumer

PARTITIONS = 40
TIMEOUT_S = 30.0


def _create(bootstrap: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(TIMEOUT_S)


def _produce(bootstrap: str, topic: str, partitions: range | list[int], per: int, tag: str) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "log_level": 3})
    for p in partitions:
        for i in range(per):
            producer.produce(topic, f"{tag}-{p}-{i}".encode(), partition=p)
    assert producer.flush(TIMEOUT_S) == 0


def _kafka_python_read(consumer: KafkaConsumer, want: int) -> list[tuple[int, int]]:
    seen: list[tuple[int, int]] = []
    deadline = time.monotonic() + TIMEOUT_S
    while len(seen) < want and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            seen += [(r.partition, r.offset) for r in records]
    return seen


def test_kafka_python_reads_every_record_once_inside_a_session(
    shared_broker: BrokerProcess,
) -> None:
    bootstrap = shared_broker.bootstrap
    topic = unique_topic("sessions-kp")
    _create(bootstrap, topic)
    _produce(bootstrap, topic, range(PARTITIONS), 5, "a")
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100
    )
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
        consumer.seek_to_beginning()
        seen = _kafka_python_read(consumer, PARTITIONS * 5)
        # Now only a few partitions change: incremental replies carry just those.
        for wave, partitions in enumerate(([3, 17], [39], [0, 20, 21])):
            _produce(bootstrap, topic, partitions, 4, f"w{wave}")
            seen += _kafka_python_read(consumer, len(partitions) * 4)
        handlers = consumer._fetcher._session_handlers
        session_ids = {h.next_metadata.session_id for h in handlers.values()}
    finally:
        consumer.close()
    counts = Counter(seen)
    assert [k for k, n in counts.items() if n > 1] == []
    per_partition = Counter(p for p, _ in seen)
    expected = Counter({p: 5 for p in range(PARTITIONS)})
    for p in (3, 17, 39, 0, 20, 21):
        expected[p] += 4
    assert per_partition == expected
    assert session_ids, "kafka-python never fetched"
    assert 0 not in session_ids, "kafka-python never got a fetch session"


def test_librdkafka_reads_every_record_once_across_many_partitions(
    shared_broker: BrokerProcess,
) -> None:
    bootstrap = shared_broker.bootstrap
    topic = unique_topic("sessions-rd")
    _create(bootstrap, topic)
    _produce(bootstrap, topic, range(PARTITIONS), 5, "a")
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "log_level": 3})
    seen: list[tuple[int, int]] = []
    try:
        consumer.assign([RdTopicPartition(topic, p, 0) for p in range(PARTITIONS)])
        deadline = time.monotonic() + TIMEOUT_S
        _produce(bootstrap, topic, [5, 6], 3, "b")
        while len(seen) < PARTITIONS * 5 + 6 and time.monotonic() < deadline:
            for msg in consumer.consume(500, 0.5):
                assert msg.error() is None, msg.error()
                seen.append((msg.partition(), msg.offset()))
    finally:
        consumer.close()
    assert len(set(seen)) == len(seen) == PARTITIONS * 5 + 6


def test_java_consumer_reads_every_record_once_across_many_partitions(
    shared_broker: BrokerProcess,
) -> None:
    """Kafka's own consumer (VerifiableConsumer, in a group) keeps a fetch session."""
    bootstrap = shared_broker.bootstrap
    topic = unique_topic("sessions-java")
    _create(bootstrap, topic)
    _produce(bootstrap, topic, range(PARTITIONS), 5, "a")
    events = verifiable_consumer(bootstrap, topic, unique_topic("sessions-group"), PARTITIONS * 5)
    assert named(events, "unparsed") == []
    records = [(r["partition"], r["offset"]) for r in named(events, "record_data")]
    assert len(set(records)) == len(records) == PARTITIONS * 5
    assert Counter(p for p, _ in records) == Counter({p: 5 for p in range(PARTITIONS)})
