"""A full disk under a real broker: appends are refused with KAFKA_STORAGE_ERROR (56),
nothing acknowledged is lost, reads keep working, and once space is freed (DeleteRecords
here) appends resume at the next offset, also after a `kill -9`.

The data dir is a small tmpfs mounted for the test (needs root, as on this project's
machines and CI; elsewhere it fails with the reason, like every missing test dependency).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import kafka
import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kio.schema.delete_records.v2.request import (
    DeleteRecordsPartition,
    DeleteRecordsRequest,
    DeleteRecordsTopic,
)
from kio.schema.produce.v9.request import PartitionProduceData, ProduceRequest, TopicProduceData

from logstore.broker.build import make
from logstore.protocol.api_keys import ApiKey
from logstore.records import build_batch
from tests.broker_fixture import BrokerProcess
from tests.clients.offline import Wire

KAFKA_STORAGE_ERROR = 56
DISK = "8m"
VALUE = 64 * 1024
TOPIC = "fill"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        # Never skipped: a disk-full test that quietly does not run proves nothing.
        pytest.fail(f"cannot mount a small tmpfs (the test needs root): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def produce(wire: Wire, i: int) -> tuple[int, int]:
    """(error code, base offset) of one acks=all batch holding value number `i`."""
    value = f"{i:08d}".encode() * (VALUE // 8)
    batch = build_batch([(None, value)], timestamp=int(time.time() * 1000))
    request = make(
        ProduceRequest,
        transactional_id=None,
        acks=-1,
        timeout=30_000,
        topic_data=(
            make(
                TopicProduceData,
                name=TOPIC,
                partition_data=(make(PartitionProduceData, index=0, records=batch),),
            ),
        ),
    )
    start = time.monotonic()
    row = wire.call(ApiKey.PRODUCE, 9, request).responses[0].partition_responses[0]
    assert time.monotonic() - start < 5.0, "a full disk must be answered, not waited on"
    return row.error_code, row.base_offset


def delete_records(wire: Wire, offset: int) -> int:
    request = make(
        DeleteRecordsRequest,
        timeout=30_000,
        topics=(
            make(
                DeleteRecordsTopic,
                name=TOPIC,
                partitions=(make(DeleteRecordsPartition, partition_index=0, offset=offset),),
            ),
        ),
    )
    row = wire.call(ApiKey.DELETE_RECORDS, 2, request).topics[0].partitions[0]
    assert row.error_code == 0
    return row.low_watermark


def read_values(broker: BrokerProcess, start: int, end: int) -> list[int]:
    consumer = Consumer(
        {"bootstrap.servers": broker.bootstrap, "group.id": "disk-full", "log_level": 3}
    )
    consumer.assign([TopicPartition(TOPIC, 0, start)])
    got: list[int] = []
    while len(got) < end - start:
        msg = consumer.poll(10)
        assert msg is not None, f"stopped after {len(got)} of {end - start} records"
        assert msg.error() is None, msg.error()
        assert msg.offset() == start + len(got)
        got.append(int(msg.value()[:8]))
    consumer.close()
    return got


def real_clients_see_56(broker: BrokerProcess) -> bool:
    """With retries off, both clients report the broker's error itself, at once (with
    retries on they retry it until their delivery timeout: 56 is retriable)."""
    reports: list[KafkaError | None] = []
    producer = Producer(
        {"bootstrap.servers": broker.bootstrap, "acks": "all", "retries": 0, "log_level": 3}
    )
    producer.produce(TOPIC, b"v" * VALUE, partition=0, on_delivery=lambda e, m: reports.append(e))
    start = time.monotonic()
    assert producer.flush(10) == 0
    assert reports[0] is not None
    assert reports[0].code() == KafkaError.KAFKA_STORAGE_ERROR
    del producer  # librdkafka's handle closes with the object
    sender = kafka.KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", retries=0)
    try:
        future = sender.send(TOPIC, b"v" * VALUE, partition=0)
        with pytest.raises(kafka.errors.KafkaStorageError):
            future.get(10)
    finally:
        sender.close(5)
    assert time.monotonic() - start < 10
    return True


def test_a_full_disk_refuses_appends_loses_nothing_and_recovers(
    small_disk: Path, tmp_path: Path
) -> None:
    (small_disk / "data").mkdir()
    broker = BrokerProcess(small_disk / "data")
    broker.log_path = tmp_path / "broker.log"  # the log must not need the full disk
    broker.start()
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap, "log_level": 3})
        config = {"internal.segment.bytes": str(512 * 1024), "file.delete.delay.ms": "0"}
        admin.create_topics([NewTopic(TOPIC, 1, 1, config=config)])[TOPIC].result(10)
        wire = Wire(broker.bootstrap)
        acked: list[int] = []  # value number at each offset
        error = 0
        for i in range(1000):  # 8 MiB holds far fewer than 1000 values of 64 KiB
            error, base = produce(wire, i)
            if error:
                break
            assert base == len(acked)
            acked.append(i)
        assert error == KAFKA_STORAGE_ERROR
        assert 20 < len(acked) < 128
        # A second refusal, and nothing half-written left behind: reads see only acks.
        assert produce(wire, 10_000)[0] == KAFKA_STORAGE_ERROR
        assert read_values(broker, 0, len(acked)) == acked
        assert real_clients_see_56(broker)

        # Free space the Kafka way: move the log start forward; whole segments go.
        assert delete_records(wire, len(acked) // 2) == len(acked) // 2
        deadline = time.monotonic() + 20
        while (result := produce(wire, 20_000))[0] == KAFKA_STORAGE_ERROR:
            # The broker unlinks retired segments on its maintenance tick.
            assert time.monotonic() < deadline, "space freed by DeleteRecords never came back"
            time.sleep(0.1)  # polling the broker's upkeep, not waiting for time to pass
        assert result == (0, len(acked)), "appends resume at the next offset"
        acked.append(20_000)

        broker.kill9()
        broker.start()
        wire = Wire(broker.bootstrap)
        start = len(acked) // 2 - 1
        assert read_values(broker, start + 1, len(acked)) == acked[start + 1 :]
        assert produce(wire, 30_000) == (0, len(acked))
        log = broker.log_path.read_text()
        assert "Traceback" not in log
        refused = [line for line in log.splitlines() if "append failed" in line]
        assert len(refused) == 1, "logged once, not for every refused request"
        assert f"WARNING logstore.storage.partition: partition {TOPIC}-0" in refused[0]
        assert "No space left on device" in refused[0]
        assert log.count(f"partition {TOPIC}-0: appends succeed again") == 1
    finally:
        if broker.running:
            broker.stop()
