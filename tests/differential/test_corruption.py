"""A flipped byte in an older segment after a crash: what Apache Kafka does, what Odradek
does, side by side (the comparison is written up in `docs/reliability.md`).

The same damage on both: records produced, a clean restart (so the recovery point covers
them all), `kill -9`, one byte flipped inside a record's value in the second segment of
the partition, start on the same data dir. Then the same client calls on both.

Kafka scans only what lies past the recovery point after an unclean stop, so it never
notices: it serves the damaged batch as stored. A client that checks CRCs (kafka-python
by default, librdkafka with `check.crcs=true`) stops there with an error; librdkafka by
default (`check.crcs=false`) hands the application the altered value as if it were the
record. Odradek scans every segment after an unclean stop, logs the damage at ERROR and
takes the partition offline: no leader in Metadata, KAFKA_STORAGE_ERROR (56) from every
partition API, nothing served from it, the other partition untouched.

This test starts its own reference broker (the session's one must not be crashed).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import kafka
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from reference.launcher import KafkaBroker, crash_kafka, restart_kafka, start_kafka
from tests.broker_fixture import BrokerProcess, start_broker
from tests.clients.offline import flip_byte_in_older_segment

pytestmark = pytest.mark.kafka

TOPIC = "corrupt"
RECORDS = 60
QUIET = {"log_level": 3}


def value(i: int) -> bytes:
    return f"{i:04d}".encode() * 10


def fill(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap, **QUIET})
    # 1000-byte segments (Kafka's internal override of the 1 MiB floor, which Odradek
    # accepts too): about nine one-record batches per segment.
    config = {"internal.segment.bytes": "1000"}
    admin.create_topics([NewTopic(TOPIC, 2, 1, config=config)])[TOPIC].result(30)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": "all", **QUIET})
    for i in range(RECORDS):
        for p in (0, 1):
            producer.produce(TOPIC, value=value(i), partition=p)
        producer.flush(10)  # one record per batch, as in `flip_byte_in_older_segment`
    assert producer.flush(10) == 0


def read(bootstrap: str, partition: int, check_crcs: bool) -> dict[str, Any]:
    """What a confluent-kafka consumer reading from offset 0 gets: values that differ
    from what was produced, and the first error, within a bounded number of polls."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{check_crcs}",
            "enable.auto.commit": False,
            "check.crcs": check_crcs,
            **QUIET,
        }
    )
    consumer.assign([TopicPartition(TOPIC, partition, 0)])
    got: list[tuple[int, bytes]] = []
    error = None
    empty = 0
    while len(got) < RECORDS and error is None and empty < 3:
        msg = consumer.poll(2.0)
        if msg is None:
            empty += 1
        elif msg.error() is not None:
            error = msg.error().name()
        else:
            got.append((msg.offset(), msg.value()))
    consumer.close()
    altered = [offset for offset, v in got if v != value(offset)]
    return {"read": len(got), "altered": altered, "error": error}


def read_kafka_python(bootstrap: str, partition: int) -> dict[str, Any]:
    """kafka-python checks CRCs by default (check_crcs=True)."""
    consumer = kafka.KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=4000
    )
    tp = kafka.TopicPartition(TOPIC, partition)
    consumer.assign([tp])
    consumer.seek(tp, 0)
    got = 0
    error = None
    try:
        for msg in consumer:
            got += 1
            if msg.value != value(msg.offset) or got >= RECORDS:
                break
    except Exception as exc:
        error = type(exc).__name__
    finally:
        consumer.close()
    return {"read": got, "error": error}


def observe(bootstrap: str) -> dict[str, Any]:
    admin = AdminClient({"bootstrap.servers": bootstrap, **QUIET})
    partitions = admin.list_topics(TOPIC, timeout=10).topics[TOPIC].partitions
    delivered: list[Any] = []
    producer = Producer(
        {"bootstrap.servers": bootstrap, "message.timeout.ms": 3000, "acks": "all", **QUIET}
    )
    for p in (0, 1):
        producer.produce(
            TOPIC, value=b"after", partition=p, on_delivery=lambda e, m: delivered.append(
                (m.partition(), e.name() if e else "OK")
            ),
        )  # fmt: skip
    producer.flush(10)
    return {
        "leaders": {
            p: (m.leader >= 0, m.error.name() if m.error else None) for p, m in partitions.items()
        },
        "produce": dict(delivered),
        "confluent default": read(bootstrap, 0, check_crcs=False),
        "confluent check.crcs": read(bootstrap, 0, check_crcs=True),
        "kafka-python": read_kafka_python(bootstrap, 0),
        "healthy partition": read(bootstrap, 1, check_crcs=True),
    }


@pytest.fixture(scope="module")
def kafka_seen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict, str]]:
    broker: KafkaBroker = start_kafka(tmp_path_factory.mktemp("kafka-corrupt"))
    try:
        fill(broker.bootstrap)
        broker = restart_kafka(broker)  # clean: the recovery point checkpoint covers all
        crash_kafka(broker)
        partition_dir = broker.data_dir / "logs" / f"{TOPIC}-0"
        flip_byte_in_older_segment(partition_dir)
        broker = restart_kafka(broker)
        seen = observe(broker.bootstrap)
        yield seen, broker.log_path.read_text(errors="replace")
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def odradek_seen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict, str]]:
    broker: BrokerProcess = start_broker(tmp_path_factory.mktemp("odradek-corrupt") / "data")
    try:
        fill(broker.bootstrap)
        broker.restart()  # clean: the recovery point checkpoint covers all
        broker.kill9()
        flip_byte_in_older_segment(broker.data_dir / f"{TOPIC}-0")
        broker.start()
        seen = observe(broker.bootstrap)
        yield seen, broker.log_path.read_text()
    finally:
        if broker.running:
            broker.stop()


def test_kafka_serves_the_damaged_batch_and_only_crc_checking_clients_notice(
    kafka_seen: tuple[dict, str],
) -> None:
    seen, log = kafka_seen
    # Nothing below the recovery point is scanned, so nothing is reported (at WARN and
    # above, the level the reference broker logs at) and the partition stays online.
    assert "corrupt" not in log.lower()
    assert seen["leaders"] == {0: (True, None), 1: (True, None)}
    assert seen["produce"] == {0: "OK", 1: "OK"}
    # librdkafka's default (check.crcs=false): every record, one of them altered, no error.
    assert seen["confluent default"] == {"read": RECORDS, "altered": [9], "error": None}
    # CRC-checking clients stop at the damaged batch (offset 9, the second segment's first).
    assert seen["confluent check.crcs"] == {"read": 9, "altered": [], "error": "_BAD_MSG"}
    assert seen["kafka-python"] == {"read": 9, "error": "CorruptRecordError"}
    assert seen["healthy partition"] == {"read": RECORDS, "altered": [], "error": None}


def test_odradek_takes_the_partition_offline_and_says_so(odradek_seen: tuple[dict, str]) -> None:
    seen, log = odradek_seen
    offline = [line for line in log.splitlines() if "is offline" in line]
    assert len(offline) == 1
    assert f"ERROR logstore.storage.recovery: partition {TOPIC}-0 is offline" in offline[0]
    assert "at offset 9" in offline[0]
    # Leaderless, as Kafka shows an offline partition: clients send it nothing.
    assert seen["leaders"] == {0: (False, "LEADER_NOT_AVAILABLE"), 1: (True, None)}
    assert seen["produce"] == {0: "_MSG_TIMED_OUT", 1: "OK"}
    nothing = {"read": 0, "altered": [], "error": None}
    assert seen["confluent default"] == nothing, "no altered value ever reaches a client"
    assert seen["confluent check.crcs"] == nothing
    assert seen["kafka-python"] == {"read": 0, "error": None}
    assert seen["healthy partition"] == {"read": RECORDS, "altered": [], "error": None}
