"""kafka-python and aiokafka transactional producers against a real broker: a committed
transaction is read by a read_committed consumer of the same library, an aborted one is
not, and offsets sent to a transaction commit with it."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka import TopicPartition as AioTopicPartition
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KpTopicPartition
from kafka.structs import OffsetAndMetadata

from tests.clients.messages import unique_topic
from tests.clients.test_transactions_confluent import create_topic

TIMEOUT_S = 20.0


def test_kafka_python_commit_abort_and_offsets(shared_broker) -> None:
    bootstrap = shared_broker.bootstrap
    topic = unique_topic("txn-kp")
    group = f"{topic}-g"
    create_topic(bootstrap, topic, 1)
    producer = KafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"{topic}-tx")
    producer.init_transactions()
    producer.begin_transaction()
    for i in range(3):
        producer.send(topic, value=f"c{i}".encode(), partition=0)
    producer.send_offsets_to_transaction(
        {KpTopicPartition(topic, 0): OffsetAndMetadata(3, "", -1)}, group
    )
    producer.commit_transaction()
    producer.begin_transaction()
    producer.send(topic, value=b"aborted", partition=0)
    producer.flush()
    producer.abort_transaction()
    producer.begin_transaction()
    producer.send(topic, value=b"c3", partition=0)
    producer.commit_transaction()
    producer.close()

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    consumer.assign([KpTopicPartition(topic, 0)])
    assert [m.value for m in consumer] == [b"c0", b"c1", b"c2", b"c3"]
    consumer.close()
    grouped = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    assert grouped.committed(KpTopicPartition(topic, 0)) == 3
    grouped.close()


async def aiokafka_read_all(bootstrap: str, topic: str, isolation: str) -> list[Any]:
    """Every record of partition 0 an aiokafka consumer reads under `isolation`, from the
    beginning until a second passes without any."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        isolation_level=isolation,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        consumer.assign([AioTopicPartition(topic, 0)])
        await consumer.seek_to_beginning()
        got: list[Any] = []
        batch = await consumer.getmany(timeout_ms=3000)
        while batch:
            got.extend(m for msgs in batch.values() for m in msgs)
            batch = await consumer.getmany(timeout_ms=1000)
        return got
    finally:
        await consumer.stop()


async def _aiokafka(bootstrap: str, topic: str) -> tuple[list[bytes], list[bytes]]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"{topic}-tx")
    await producer.start()
    try:
        async with producer.transaction():
            for i in range(3):
                await producer.send(topic, value=f"c{i}".encode(), partition=0)
        await producer.begin_transaction()
        await producer.send_and_wait(topic, value=b"aborted", partition=0)
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send(topic, value=b"c3", partition=0)
    finally:
        await producer.stop()
    seen = {}
    for isolation in ("read_committed", "read_uncommitted"):
        seen[isolation] = [m.value for m in await aiokafka_read_all(bootstrap, topic, isolation)]
    return seen["read_committed"], seen["read_uncommitted"]


def test_aiokafka_commit_and_abort(shared_broker) -> None:
    bootstrap = shared_broker.bootstrap
    topic = unique_topic("txn-aio")
    create_topic(bootstrap, topic, 1)
    committed, uncommitted = asyncio.run(asyncio.wait_for(_aiokafka(bootstrap, topic), 60))
    assert committed == [b"c0", b"c1", b"c2", b"c3"]
    assert uncommitted == [b"c0", b"c1", b"c2", b"aborted", b"c3"]
