"""kafka-python 3 against a real broker: every codec, keys, headers, timestamps, offsets by
timestamp, delete records, delete topic (idempotence off: InitProducerId is another issue's)."""

from __future__ import annotations

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from tests.clients.messages import CODECS, Sample, samples, unique_topic

TIMEOUT_MS = 15_000


def _admin(bootstrap: str) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=TIMEOUT_MS)


def _produce(bootstrap: str, topic: str, batch: list[Sample], codec: str | None) -> None:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        compression_type=codec,
        enable_idempotence=False,
        acks="all",
        linger_ms=5,
    )
    try:
        futures = [
            producer.send(
                topic,
                key=s.key,
                value=s.value,
                headers=list(s.headers),
                timestamp_ms=s.timestamp,
                partition=0,
            )
            for s in batch
        ]
        producer.flush(TIMEOUT_MS / 1000)
        offsets = [f.get(timeout=TIMEOUT_MS / 1000).offset for f in futures]
    finally:
        producer.close()
    assert offsets == list(range(len(batch)))


def _consumer(bootstrap: str) -> KafkaConsumer:
    return KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        consumer_timeout_ms=TIMEOUT_MS,
        request_timeout_ms=TIMEOUT_MS + 5000,
    )


def _consume(bootstrap: str, topic: str, n: int, start: int = 0) -> list:
    consumer = _consumer(bootstrap)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek(tp, start)
    got = []
    try:
        for msg in consumer:
            got.append(msg)
            if len(got) == n:
                break
    finally:
        consumer.close()
    return got


@pytest.mark.parametrize("codec", CODECS)
def test_round_trip_every_codec(shared_broker, codec: str) -> None:
    topic = unique_topic(f"kp-{codec}")
    admin = _admin(shared_broker.bootstrap)
    admin.create_topics([NewTopic(topic, 1, 1)])
    admin.close()
    batch = samples(20)
    _produce(shared_broker.bootstrap, topic, batch, None if codec == "none" else codec)
    got = _consume(shared_broker.bootstrap, topic, len(batch))
    assert [m.offset for m in got] == list(range(len(batch)))
    assert [m.key for m in got] == [s.key for s in batch]
    assert [m.value for m in got] == [s.value for s in batch]
    assert [tuple(m.headers) for m in got] == [s.headers for s in batch]
    assert [m.timestamp for m in got] == [s.timestamp for s in batch]
    assert {m.timestamp_type for m in got} == {0}


def test_offsets_by_timestamp_delete_records_and_delete_topic(shared_broker) -> None:
    topic = unique_topic("kp-life")
    admin = _admin(shared_broker.bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 1, 1)])
        batch = samples(10)
        # One request per message, so each offset is its own batch with its own timestamp.
        _produce_one_by_one(shared_broker.bootstrap, topic, batch)

        consumer = _consumer(shared_broker.bootstrap)
        tp = TopicPartition(topic, 0)
        try:
            found = consumer.offsets_for_times({tp: batch[6].timestamp})
            assert found[tp].offset == 6
            assert found[tp].timestamp == batch[6].timestamp
            assert consumer.offsets_for_times({tp: batch[-1].timestamp + 1})[tp] is None
            assert consumer.beginning_offsets([tp])[tp] == 0
            assert consumer.end_offsets([tp])[tp] == 10
        finally:
            consumer.close()

        result = admin.delete_records({tp: 3})
        assert result[tp]["low_watermark"] == 3
        got = _consume(shared_broker.bootstrap, topic, 7, start=3)
        assert [m.offset for m in got] == list(range(3, 10))

        admin.delete_topics([topic])
        assert topic not in admin.list_topics()
    finally:
        admin.close()


def _produce_one_by_one(bootstrap: str, topic: str, batch: list[Sample]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, linger_ms=0)
    try:
        for s in batch:
            producer.send(
                topic, key=s.key, value=s.value, timestamp_ms=s.timestamp, partition=0
            ).get(timeout=TIMEOUT_MS / 1000)
    finally:
        producer.close()
