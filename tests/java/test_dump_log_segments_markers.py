"""Kafka's own DumpLogSegments (`kafka-dump-log.sh`) reads an Odradek segment holding a
committed and an aborted transaction, markers included, and prints each COMMIT/ABORT
control record with the transaction's producer id and epoch and the coordinator epoch;
the `__consumer_offsets` segment holding a transactional offset commit reads the same
way. The tool checks every batch's CRC and parses the control records' key and value
with Kafka's own classes, so a byte out of Kafka's layout fails here; beside Apache
Kafka, the same transactions dump line for line as Kafka's own segment."""

from __future__ import annotations

import re
import subprocess
import uuid
from itertools import pairwise
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from reference.launcher import KafkaBroker, java_command
from tests.broker_fixture import BrokerProcess
from tests.clusters import Cluster
from tests.differential.harness import QUIET, TIMEOUT, create_topic

TOPIC = "dumped"
TOOL_TIMEOUT = 90.0
# Kafka's marker batch: the 61-byte v2 batch header plus one 17-byte control record
# (4-byte key, 6-byte value, no headers).
MARKER_BATCH_SIZE = "78"
_FIELD = re.compile(r"(\w+): (\[[^\]]*\]|\S+)")


def _dump(segment: Path) -> list[dict[str, str]]:
    """DumpLogSegments' batches and records, in file order, as field dicts
    (records carry `"kind": "record"`, batches `"kind": "batch"`)."""
    done = subprocess.run(
        java_command(
            "org.apache.kafka.tools.DumpLogSegments",
            ["--deep-iteration", "--print-data-log", "--files", str(segment)],
        ),
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    entries = []
    for line in done.stdout.splitlines():
        if line.startswith("baseOffset:"):
            entries.append({"kind": "batch", **dict(_FIELD.findall(line))})
        elif line.startswith("| offset:"):
            entries.append({"kind": "record", **dict(_FIELD.findall(line))})
    assert entries, done.stdout
    return entries


def _transactions(bootstrap: str, topic: str, tag: str) -> None:
    """Commit two records to partition 0 of `topic` (with group `tag`'s offset sent in
    the transaction), then abort one, from the second producer of transactional id
    `tag` (epoch 1: the first one was fenced)."""
    config = {"bootstrap.servers": bootstrap, "transactional.id": tag, **QUIET}
    fenced = Producer(config)
    fenced.init_transactions(TIMEOUT)
    producer = Producer(config)
    producer.init_transactions(TIMEOUT)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": tag, **QUIET})
    producer.begin_transaction()
    producer.produce(topic, b"kept-1", key=b"k", partition=0)
    producer.produce(topic, b"kept-2", partition=0)
    producer.send_offsets_to_transaction(
        [TopicPartition(topic, 0, 2)], consumer.consumer_group_metadata(), TIMEOUT
    )
    producer.commit_transaction(TIMEOUT)
    producer.begin_transaction()
    producer.produce(topic, b"dropped", partition=0)
    assert producer.flush(TIMEOUT) == 0
    producer.abort_transaction(TIMEOUT)
    consumer.close()


def _markers(entries: list[dict[str, str]]) -> list[tuple[dict[str, str], dict[str, str]]]:
    return [
        (batch, record)
        for batch, record in pairwise(entries)
        if batch["kind"] == "batch" and batch["isControl"] == "true"
    ]


def test_dump_log_segments_reads_commit_and_abort_markers(broker: BrokerProcess) -> None:
    _transactions(broker.bootstrap, TOPIC, "dump")
    broker.stop()
    (segment,) = sorted((broker.data_dir / f"{TOPIC}-0").glob("*.log"))
    entries = _dump(segment)

    batches = [e for e in entries if e["kind"] == "batch"]
    assert all(b["isvalid"] == "true" and b["magic"] == "2" for b in batches), batches
    assert [(b["baseOffset"], b["lastOffset"], b["isControl"]) for b in batches] == [
        ("0", "1", "false"),
        ("2", "2", "true"),
        ("3", "3", "false"),
        ("4", "4", "true"),
    ]
    producer_id = batches[0]["producerId"]
    assert int(producer_id) >= 0
    assert {(b["producerId"], b["producerEpoch"], b["isTransactional"]) for b in batches} == {
        (producer_id, "1", "true")
    }
    payloads = [e.get("payload") for e in entries if e["kind"] == "record"]
    assert payloads == ["kept-1", "kept-2", None, "dropped", None]

    markers = _markers(entries)
    assert [(r["offset"], r["endTxnMarker"], r["coordinatorEpoch"]) for _, r in markers] == [
        ("2", "COMMIT", "0"),
        ("4", "ABORT", "0"),
    ]
    for batch, record in markers:
        assert (batch["baseSequence"], batch["lastSequence"], batch["count"]) == ("-1", "-1", "1")
        assert batch["size"] == MARKER_BATCH_SIZE, batch
        assert (record["keySize"], record["valueSize"], record["sequence"]) == ("4", "6", "-1")

    # The transactional offset commit's partition of __consumer_offsets ends with a COMMIT
    # marker from the same producer.
    offsets_markers = [
        marker
        for log in sorted(broker.data_dir.glob("__consumer_offsets-*/*.log"))
        if log.stat().st_size
        for marker in _markers(_dump(log))
    ]
    assert [
        (b["producerId"], b["producerEpoch"], b["size"], r["endTxnMarker"], r["coordinatorEpoch"])
        for b, r in offsets_markers
    ] == [(producer_id, "1", MARKER_BATCH_SIZE, "COMMIT", "0")]


# Per cluster and per run: times, checksums (they cover the timestamps), producer ids.
_PER_RUN = ("CreateTime", "crc", "producerId")


@pytest.mark.kafka
def test_markers_dump_as_kafkas_own(broker: BrokerProcess, kafka_broker: KafkaBroker) -> None:
    """The same two transactions dump line for line as Apache Kafka's own segment does
    (sizes and file positions included), once per-run values are set aside."""
    run = uuid.uuid4().hex[:8]
    topic = f"dumped-{run}"
    for cluster in (
        Cluster("kafka", kafka_broker.bootstrap, "kafka"),
        Cluster("odradek", broker.bootstrap, "odradek"),
    ):
        create_topic(cluster, topic, partitions=1)
    _transactions(kafka_broker.bootstrap, topic, f"dump-{run}")
    _transactions(broker.bootstrap, topic, f"dump-{run}")
    broker.stop()
    dumps = {}
    for name, root in (("kafka", kafka_broker.data_dir / "logs"), ("odradek", broker.data_dir)):
        (segment,) = sorted((root / f"{topic}-0").glob("*.log"))
        dumps[name] = [
            {k: v for k, v in entry.items() if k not in _PER_RUN} for entry in _dump(segment)
        ]
    assert dumps["odradek"] == dumps["kafka"]
