"""Kafka's own DumpLogSegments (`kafka-dump-log.sh`) reads an Odradek segment holding a
committed and an aborted transaction, markers included, and prints each COMMIT/ABORT
control record with the transaction's producer id and epoch and the coordinator epoch;
the `__consumer_offsets` segment holding a transactional offset commit reads the same
way. The tool checks every batch's CRC and parses the control records' key and value
with Kafka's own classes, so a byte out of Kafka's layout fails here."""

from __future__ import annotations

import re
import subprocess
from itertools import pairwise
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition

from reference.launcher import java_command
from tests.broker_fixture import BrokerProcess
from tests.differential.harness import QUIET, TIMEOUT

TOPIC = "dumped"
TXN_ID = "dump-txn"
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


def _transactions(bootstrap: str, group: str) -> None:
    """Commit two records (with the group's offset sent in the transaction), then abort
    one, from the second producer of TXN_ID (epoch 1: the first one was fenced)."""
    config = {"bootstrap.servers": bootstrap, "transactional.id": TXN_ID, **QUIET}
    fenced = Producer(config)
    fenced.init_transactions(TIMEOUT)
    producer = Producer(config)
    producer.init_transactions(TIMEOUT)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, **QUIET})
    producer.begin_transaction()
    producer.produce(TOPIC, b"kept-1", key=b"k", partition=0)
    producer.produce(TOPIC, b"kept-2", partition=0)
    producer.send_offsets_to_transaction(
        [TopicPartition(TOPIC, 0, 2)], consumer.consumer_group_metadata(), TIMEOUT
    )
    producer.commit_transaction(TIMEOUT)
    producer.begin_transaction()
    producer.produce(TOPIC, b"dropped", partition=0)
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
    _transactions(broker.bootstrap, "dump-group")
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
