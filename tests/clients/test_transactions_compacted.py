"""Real consumers over a compacted topic whose transactions the cleaner has worked on:
emptied batches (a live producer's aborted last batch), markers rewritten with a delete
horizon or removed, a tombstone gone. confluent-kafka, kafka-python and aiokafka, at
both isolation levels, read exactly the surviving records and reach the end of the log."""

from __future__ import annotations

import asyncio

from confluent_kafka import Consumer, TopicPartition
from kafka import KafkaConsumer
from kafka import TopicPartition as KpTopicPartition

from tests.clients.test_transactions_python_clients import aiokafka_read_all
from tests.clusters import Cluster
from tests.differential.test_transactions_compaction import SETTLED, compacted_history, shape_of

TIMEOUT_S = 20.0
SURVIVOR = (4, b"k1", b"b")  # all that is left of the scripted history


def _consumer(bootstrap: str, topic: str, isolation: str) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"{topic}-{isolation}",
            "isolation.level": isolation,
            "enable.auto.commit": False,
            "log_level": 3,
        }
    )


def _end(bootstrap: str, topic: str) -> int:
    consumer = _consumer(bootstrap, topic, "read_uncommitted")
    _, end = consumer.get_watermark_offsets(TopicPartition(topic, 0), TIMEOUT_S)
    consumer.close()
    return int(end)


def _confluent(bootstrap: str, topic: str, isolation: str) -> list[tuple[int, bytes, bytes]]:
    consumer = _consumer(bootstrap, topic, isolation)
    tp = TopicPartition(topic, 0, 0)
    consumer.assign([tp])
    end = _end(bootstrap, topic)
    got = []
    while not got or got[-1][0] < end - 1:
        msg = consumer.poll(TIMEOUT_S)
        assert msg is not None, f"stalled after {got[-1:]} (end {end})"
        assert msg.error() is None, msg.error()
        got.append((msg.offset(), msg.key(), msg.value()))
    consumer.close()
    return got


def _kafka_python(bootstrap: str, topic: str, isolation: str) -> list[tuple[int, bytes, bytes]]:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        isolation_level=isolation,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    consumer.assign([KpTopicPartition(topic, 0)])
    got = [(m.offset, m.key, m.value) for m in consumer]
    consumer.close()
    return got


async def _aiokafka(bootstrap: str, topic: str, isolation: str) -> list[tuple[int, bytes, bytes]]:
    return [
        (m.offset, m.key, m.value) for m in await aiokafka_read_all(bootstrap, topic, isolation)
    ]


def test_consumers_read_a_cleaned_transactional_topic(shared_broker) -> None:
    cluster = Cluster("odradek", shared_broker.bootstrap, "odradek")
    topic, _, batches = compacted_history(cluster)
    assert shape_of(batches) == SETTLED
    bootstrap = cluster.bootstrap
    end = _end(bootstrap, topic)  # nothing is appended from here on
    for isolation in ("read_committed", "read_uncommitted"):
        readers = {
            "confluent-kafka": _confluent(bootstrap, topic, isolation),
            "kafka-python": _kafka_python(bootstrap, topic, isolation),
            "aiokafka": asyncio.run(_aiokafka(bootstrap, topic, isolation)),
        }
        for name, got in readers.items():
            scripted = [r for r in got if r[0] < 10]
            fillers = [r for r in got if r[0] >= 10]
            assert scripted == [SURVIVOR], (name, isolation, got)
            # Past the emptied batches to the log's last record, the newest filler (the
            # cleaner may still remove older fillers meanwhile).
            assert fillers, (name, isolation, got)
            assert fillers[-1] == (end - 1, b"filler", b"f"), (name, isolation, got)
