"""read_committed over a real broker process: Fetch, ListOffsets, restarts, refused markers.

The partition is written beforehand through a real LogManager and ProducerManager (the way
the broker appends: `log.append`, then the producer hook), then served by a real broker
process and read with real clients at both isolation levels.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from logstore.broker.build import make
from logstore.clock import ManualClock
from logstore.producers.manager import SNAPSHOT_FILE, ProducerManager
from logstore.protocol.api_keys import ApiKey
from logstore.records import build_batch, decode_records, iter_headers, parse_header
from logstore.records.control import build_control_batch
from logstore.storage import LogManager
from tests.broker_fixture import BrokerProcess
from tests.logstore.broker.fetch_wire import fetch_partition, list_offset
from tests.logstore.broker.wire import Wire, schema

TOPIC = "txn"
INVALID_RECORD = 87
UNKNOWN_TOPIC_OR_PARTITION = 3
UNSUPPORTED_VERSION = 35
# What the partition holds (offsets):
#   0-2 plain; 3-4 txn pid 10; 5-6 txn pid 11; 7 COMMIT 10; 8 ABORT 11;
#   9-10 txn pid 12 (left open); 11 plain; 12-13 txn pid 13; 14 ABORT 13.
# Like Kafka, a read_committed fetch lists aborted transactions up to a coarse bound past
# the data it returns (here the log end), so pid 13's abort is listed from offset 0 on.
COMMITTED = [b"plain-0", b"plain-1", b"plain-2", b"p10-0", b"p10-1"]
EVERYTHING = [
    *COMMITTED, b"p11-0", b"p11-1", b"p12-0", b"p12-1", b"plain-late", b"p13-0", b"p13-1"
]  # fmt: skip
LSO = 9
NOW = 1_700_000_000_000
END = 15
ABORTED = [(11, 5), (13, 12)]


def _write(data_dir: Path) -> None:
    clock = ManualClock(NOW)
    logs = LogManager(data_dir, fsync="always", clock=clock).open()
    logs.create_topic(TOPIC, 1)
    manager = ProducerManager(logs, clock)
    plog = logs.log(TOPIC, 0)
    now = clock.now_ms()

    def append(batch: bytes) -> None:
        result = plog.append(batch)
        manager.record(plog, parse_header(batch), result.base_offset)

    def txn(pid: int) -> None:
        values = [(None, f"p{pid}-{i}".encode()) for i in range(2)]
        append(
            build_batch(
                values,
                producer_id=pid,
                producer_epoch=0,
                base_sequence=0,
                transactional=True,
                timestamp=now,
            )
        )

    append(build_batch([(None, f"plain-{i}".encode()) for i in range(3)], timestamp=now))
    txn(10)
    txn(11)
    append(build_control_batch(10, 0, commit=True, timestamp=now))
    append(build_control_batch(11, 0, commit=False, timestamp=now))
    txn(12)
    append(build_batch([(None, b"plain-late")], timestamp=now + 1000))
    txn(13)
    append(build_control_batch(13, 0, commit=False, timestamp=now))
    assert plog.log_end_offset == END
    manager.snapshot()
    logs.close()


@pytest.fixture
def txn_broker(tmp_path: Path):
    data = tmp_path / "data"
    _write(data)
    proc = BrokerProcess(data)
    proc.start()
    yield proc
    proc.stop()


def _consume_confluent(bootstrap: str, isolation: str, expect: int) -> list[bytes]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"g-{isolation}",
            "isolation.level": isolation,
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    consumer.assign([TopicPartition(TOPIC, 0, 0)])
    got: list[bytes] = []
    try:
        for _ in range(100):
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if got or expect == 0:
                    break
                continue
            got.append(msg.value())
        low, high = consumer.get_watermark_offsets(TopicPartition(TOPIC, 0), timeout=10)
    finally:
        consumer.close()
    assert low == 0
    assert high == (LSO if isolation == "read_committed" else END)
    return got


def _consume_kafka_python(bootstrap: str, isolation: str) -> tuple[list[bytes], int]:
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KTP

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        isolation_level=isolation,
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    tp = KTP(TOPIC, 0)
    consumer.assign([tp])
    consumer.seek(tp, 0)
    got = [m.value for m in consumer]
    end = consumer.end_offsets([tp])[tp]
    consumer.close()
    return got, end


async def _consume_aiokafka(bootstrap: str, isolation: str, expect: int) -> list[bytes]:
    from aiokafka import AIOKafkaConsumer
    from aiokafka import TopicPartition as ATP

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level=isolation)
    await consumer.start()
    try:
        tp = ATP(TOPIC, 0)
        consumer.assign([tp])
        consumer.seek(tp, 0)
        got: list[bytes] = []
        for _ in range(10):
            batch = await consumer.getmany(tp, timeout_ms=500)
            got += [m.value for m in batch.get(tp, [])]
            if len(got) >= expect:
                break
        return got
    finally:
        await consumer.stop()


def _check_clients(bootstrap: str) -> None:
    assert _consume_confluent(bootstrap, "read_committed", len(COMMITTED)) == COMMITTED
    assert _consume_confluent(bootstrap, "read_uncommitted", len(EVERYTHING)) == EVERYTHING
    assert _consume_kafka_python(bootstrap, "read_committed") == (COMMITTED, LSO)
    assert _consume_kafka_python(bootstrap, "read_uncommitted") == (EVERYTHING, END)
    committed = asyncio.run(_consume_aiokafka(bootstrap, "read_committed", len(COMMITTED)))
    assert committed == COMMITTED


def _offsets(records: bytes) -> list[int]:
    return [h.base_offset for _, h in iter_headers(records)]


def _check_wire(bootstrap: str) -> None:
    with Wire(bootstrap) as wire:
        for version in (4, 11, 12):
            p = fetch_partition(wire, TOPIC, version, 1, 0)
            assert (p.high_watermark, p.last_stable_offset) == (END, LSO)
            assert [(a.producer_id, a.first_offset) for a in p.aborted_transactions] == ABORTED
            # Every batch below the LSO, markers included; nothing of the open one.
            assert _offsets(p.records) == [0, 3, 5, 7, 8]
            p = fetch_partition(wire, TOPIC, version, 1, 9)
            assert p.records in (b"", None)
            assert list(p.aborted_transactions) == []
            p = fetch_partition(wire, TOPIC, version, 1, 7)
            assert [(a.producer_id, a.first_offset) for a in p.aborted_transactions] == ABORTED
            p = fetch_partition(wire, TOPIC, version, 0, 0)
            assert p.last_stable_offset == LSO
            assert p.aborted_transactions is None
            assert _offsets(p.records) == [0, 3, 5, 7, 8, 9, 11, 12, 14]
        assert list_offset(wire, TOPIC, -1, 1) == (0, LSO, -1)
        assert list_offset(wire, TOPIC, -1, 0) == (0, END, -1)
        # A timestamp answer past the LSO is no answer to read_committed (as Kafka).
        assert list_offset(wire, TOPIC, -3, 1) == (0, -1, -1)
        assert list_offset(wire, TOPIC, -3, 0) == (0, 11, NOW + 1000)
        assert list_offset(wire, TOPIC, -3, 0, version=6) == (UNSUPPORTED_VERSION, -1, -1)
        assert list_offset(wire, TOPIC, NOW + 1, 1) == (0, -1, -1)
        assert list_offset(wire, TOPIC, NOW + 1, 0) == (0, 11, NOW + 1000)
        assert list_offset(wire, TOPIC, 0, 1) == (0, 0, NOW)


def test_read_committed_clients_and_wire(txn_broker: BrokerProcess) -> None:
    _check_wire(txn_broker.bootstrap)
    _check_clients(txn_broker.bootstrap)


def test_transaction_state_survives_kill9_with_and_without_snapshot(
    txn_broker: BrokerProcess,
) -> None:
    txn_broker.kill9()
    txn_broker.start()
    _check_wire(txn_broker.bootstrap)
    txn_broker.kill9()
    for snapshot in txn_broker.data_dir.rglob(SNAPSHOT_FILE):
        snapshot.unlink()
    txn_broker.start()
    _check_wire(txn_broker.bootstrap)
    assert _consume_confluent(txn_broker.bootstrap, "read_committed", 5) == COMMITTED


def test_client_control_batch_is_refused_and_nothing_stored(txn_broker: BrokerProcess) -> None:
    produce = schema(ApiKey.PRODUCE, 9)
    marker = build_control_batch(12, 0, commit=True, timestamp=0)
    with Wire(txn_broker.bootstrap) as wire:
        # With a transactional id: a marker is a transactional batch, and without one the
        # whole request is refused before its batches are looked at.
        response = wire.request(
            ApiKey.PRODUCE,
            9,
            transactional_id="control-writer",
            acks=-1,
            timeout=10_000,
            topic_data=(
                make(
                    produce.TopicProduceData,
                    name=TOPIC,
                    partition_data=(make(produce.PartitionProduceData, index=0, records=marker),),
                ),
            ),
        )
        assert response.responses[0].partition_responses[0].error_code == INVALID_RECORD
        p = fetch_partition(wire, TOPIC, 12, 1, 0)
        assert (p.high_watermark, p.last_stable_offset) == (END, LSO)
        assert _offsets(p.records) == [0, 3, 5, 7, 8]
        assert [r.value for r in decode_records(p.records)] == [b"plain-0", b"plain-1", b"plain-2"]


def test_describe_producers_over_the_wire(txn_broker: BrokerProcess) -> None:
    request = schema(ApiKey.DESCRIBE_PRODUCERS, 0)
    with Wire(txn_broker.bootstrap) as wire:
        response = wire.request(
            ApiKey.DESCRIBE_PRODUCERS,
            0,
            topics=(
                make(request.TopicRequest, name=TOPIC, partition_indexes=(0, 5)),
                make(request.TopicRequest, name="missing", partition_indexes=(0,)),
            ),
        )
    [known, missing] = response.topics
    assert [p.error_code for p in missing.partitions] == [UNKNOWN_TOPIC_OR_PARTITION]
    part, beyond = known.partitions
    assert beyond.error_code == UNKNOWN_TOPIC_OR_PARTITION
    assert part.error_code == 0
    rows = sorted(
        (s.producer_id, s.producer_epoch, s.last_sequence, s.coordinator_epoch,
         s.current_txn_start_offset)
        for s in part.active_producers
    )  # fmt: skip
    # pid 10 committed and pid 11 aborted at coordinator epoch 0; pid 12 is still open.
    assert rows == [(10, 0, 1, 0, -1), (11, 0, 1, 0, -1), (12, 0, 1, -1, 9), (13, 0, 1, 0, -1)]


def test_kafka_transactions_tool_describes_producers(txn_broker: BrokerProcess) -> None:
    from reference.launcher import java_command

    done = subprocess.run(
        java_command(
            "org.apache.kafka.tools.TransactionsCommand",
            ["--bootstrap-server", txn_broker.bootstrap, "describe-producers",
             "--topic", TOPIC, "--partition", "0"],
        ),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line.split() for line in done.stdout.splitlines() if line.strip()]
    header = lines[0]
    assert header[:2] == ["ProducerId", "ProducerEpoch"]
    by_pid = {int(row[0]): dict(zip(header, row, strict=True)) for row in lines[1:]}
    assert set(by_pid) == {10, 11, 12, 13}
    assert by_pid[12]["CurrentTransactionStartOffset"] == "9"
    assert by_pid[10]["CurrentTransactionStartOffset"] == "None"


def test_java_console_consumer_reads_committed_only(txn_broker: BrokerProcess) -> None:
    from reference.launcher import java_command

    def read(isolation: str, count: int, wait_ms: int = 20_000) -> list[str]:
        done = subprocess.run(
            java_command(
                "org.apache.kafka.tools.consumer.ConsoleConsumer",
                ["--bootstrap-server", txn_broker.bootstrap, "--topic", TOPIC,
                 "--partition", "0", "--offset", "earliest", "--max-messages", str(count),
                 "--timeout-ms", str(wait_ms), "--isolation-level", isolation],
            ),
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.split()

    # One more than there is to read: it must time out having seen only the committed ones.
    committed = read("read_committed", len(COMMITTED) + 1, wait_ms=4000)
    assert committed == [v.decode() for v in COMMITTED]
    assert read("read_uncommitted", len(EVERYTHING)) == [v.decode() for v in EVERYTHING]


def test_kafka_transactions_tool_finds_the_hanging_transaction(txn_broker: BrokerProcess) -> None:
    """pid 12's transaction is open in the log with no coordinator behind it, and its
    last batch is years old: `find-hanging` reports it from DescribeProducers."""
    from reference.launcher import java_command

    done = subprocess.run(
        java_command(
            "org.apache.kafka.tools.TransactionsCommand",
            ["--bootstrap-server", txn_broker.bootstrap, "find-hanging", "--topic", TOPIC],
        ),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    header, *rows = [line.split() for line in done.stdout.splitlines() if line.strip()]
    found = [dict(zip(header, row, strict=True)) for row in rows]
    assert [(r["ProducerId"], r["StartOffset"], r["LastTimestamp"]) for r in found] == [
        ("12", str(LSO), str(NOW))
    ]
