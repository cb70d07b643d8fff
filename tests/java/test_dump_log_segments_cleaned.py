"""Kafka's own DumpLogSegments reads a segment Odradek's cleaner rewrote: markers stamped
with a delete horizon, a batch emptied of its records, a tombstone's batch with its
horizon. The tool checks every batch's CRC and reads the horizon from the attributes
and baseTimestamp with Kafka's own classes; record timestamps must come out unchanged."""

from __future__ import annotations

from pathlib import Path

from logstore.clock import ManualClock
from logstore.producers.manager import ProducerManager
from logstore.storage.cleaner import clean_log
from tests.java.test_dump_log_segments_markers import _dump
from tests.logstore.producers.txn_writer import Writer
from tests.logstore.storage.conftest import open_inline

RETENTION = 1000


def test_dump_log_segments_reads_a_cleaned_segment(tmp_path: Path) -> None:
    clock = ManualClock()
    written = clock.now_ms()
    manager = open_inline(tmp_path / "data", clock)
    manager.create_topic(
        "c",
        1,
        {
            "cleanup.policy": "compact",
            "delete.retention.ms": str(RETENTION),
            "min.cleanable.dirty.ratio": "0.01",
        },
    )
    producers = ProducerManager(manager, clock)
    log = manager.log("c", 0)
    w = Writer(producers, log, clock)
    w.data(1, records=[(b"a", b"x")])  # 0: aborted
    w.marker(1, commit=False)  # 1
    w.data(1, records=[(b"b", b"1")])  # 2: superseded
    w.marker(1, commit=True)  # 3
    w.data(1, records=[(b"b", b"2")])  # 4: producer 1's last data batch
    w.marker(1, commit=True)  # 5
    w.data(3, records=[(b"q", b"y")])  # 6: producer 3's last data batch, aborted
    w.marker(3, commit=False)  # 7
    w.data(2, records=[(b"t", None)], txn=False)  # 8: a tombstone
    log.roll()
    w.data(2, records=[(b"z", b"z")], txn=False)  # 9: the active segment
    for _ in range(2):  # the second pass stamps the markers of the emptied transactions
        assert clean_log(log, clock.now_ms(), force=True, transactions=producers)
    segment = log.segments[0].log_path
    manager.close()

    entries = _dump(segment)
    batches = [e for e in entries if e["kind"] == "batch"]
    assert all(b["isvalid"] == "true" for b in batches), batches
    horizon = f"OptionalLong[{written + RETENTION}]"
    assert [
        (b["baseOffset"], b["count"], b["isControl"], b["deleteHorizonMs"]) for b in batches
    ] == [
        ("1", "1", "true", horizon),
        ("3", "1", "true", horizon),
        ("4", "1", "false", "OptionalLong.empty"),
        ("5", "1", "true", "OptionalLong.empty"),
        ("6", "0", "false", "OptionalLong.empty"),
        ("7", "1", "true", "OptionalLong.empty"),
        ("8", "1", "false", horizon),
    ]
    records = [e for e in entries if e["kind"] == "record"]
    assert {r["CreateTime"] for r in records} == {str(written)}
    assert [(r["offset"], r.get("endTxnMarker"), r.get("payload")) for r in records] == [
        ("1", "ABORT", None),
        ("3", "COMMIT", None),
        ("4", None, "2"),
        ("5", "COMMIT", None),
        ("7", "ABORT", None),
        ("8", None, None),
    ]
