"""aiokafka against a real broker: every codec, keys, headers, timestamps, offsets by
timestamp, delete records, delete topic (group-less: assign + seek)."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic, RecordsToDelete

from tests.clients.messages import CODECS, Sample, samples, unique_topic

TIMEOUT_S = 15.0


async def _create(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()


async def _produce(bootstrap: str, topic: str, batch: list[Sample], codec: str | None) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, compression_type=codec, acks="all", linger_ms=5
    )
    await producer.start()
    try:
        futures = [
            await producer.send(
                topic,
                key=s.key,
                value=s.value,
                headers=list(s.headers),
                timestamp_ms=s.timestamp,
                partition=0,
            )
            for s in batch
        ]
        results = await asyncio.wait_for(asyncio.gather(*futures), TIMEOUT_S)
    finally:
        await producer.stop()
    assert [r.offset for r in results] == list(range(len(batch)))


async def _consume(bootstrap: str, topic: str, n: int, start: int = 0) -> list:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    tp = TopicPartition(topic, 0)
    got: list = []
    try:
        consumer.assign([tp])
        consumer.seek(tp, start)
        while len(got) < n:
            got.append(await asyncio.wait_for(consumer.getone(), TIMEOUT_S))
    finally:
        await consumer.stop()
    return got


@pytest.mark.parametrize("codec", CODECS)
async def test_round_trip_every_codec(shared_broker, codec: str) -> None:
    topic = unique_topic(f"aio-{codec}")
    await _create(shared_broker.bootstrap, topic)
    batch = samples(20)
    await _produce(shared_broker.bootstrap, topic, batch, None if codec == "none" else codec)
    got = await _consume(shared_broker.bootstrap, topic, len(batch))
    assert [m.offset for m in got] == list(range(len(batch)))
    assert [m.key for m in got] == [s.key for s in batch]
    assert [m.value for m in got] == [s.value for s in batch]
    assert [tuple(m.headers) for m in got] == [s.headers for s in batch]
    assert [m.timestamp for m in got] == [s.timestamp for s in batch]


async def test_offsets_by_timestamp_delete_records_and_delete_topic(shared_broker) -> None:
    bootstrap = shared_broker.bootstrap
    topic = unique_topic("aio-life")
    await _create(bootstrap, topic)
    batch = samples(10)
    for s in batch:  # one request each: every offset is its own batch and timestamp
        await _produce_at(bootstrap, topic, s)

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    tp = TopicPartition(topic, 0)
    try:
        found = await consumer.offsets_for_times({tp: batch[5].timestamp})
        assert (found[tp].offset, found[tp].timestamp) == (5, batch[5].timestamp)
        assert (await consumer.offsets_for_times({tp: batch[-1].timestamp + 1}))[tp] is None
        assert (await consumer.beginning_offsets([tp]))[tp] == 0
        assert (await consumer.end_offsets([tp]))[tp] == 10
    finally:
        await consumer.stop()

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        result = await admin.delete_records({tp: RecordsToDelete(before_offset=2)})
        assert result[tp] == 2
        got = await _consume(bootstrap, topic, 8, start=2)
        assert [m.offset for m in got] == list(range(2, 10))
        await admin.delete_topics([topic])
        assert topic not in await admin.list_topics()
    finally:
        await admin.close()


async def _produce_at(bootstrap: str, topic: str, s: Sample) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await asyncio.wait_for(
            producer.send_and_wait(
                topic, s.value, key=s.key, timestamp_ms=s.timestamp, partition=0
            ),
            TIMEOUT_S,
        )
    finally:
        await producer.stop()
