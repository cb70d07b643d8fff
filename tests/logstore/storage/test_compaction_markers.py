"""Transaction markers under compaction, as Kafka's cleaner removes them: a marker goes
once its transaction's data is gone and `delete.retention.ms` has passed since a pass
first found it removable (the delete horizon, kept in the batch header across restarts);
a live producer's last batch stays as an empty batch; the aborted list a read_committed
fetch gets forgets transactions whose data is gone, and a rescan of the log agrees."""

from __future__ import annotations

from pathlib import Path

from logstore.clock import ManualClock
from logstore.producers.manager import ProducerManager
from logstore.records import BatchHeader, decode_records, iter_headers, validate_batch
from logstore.records.control import ABORT, COMMIT, read_marker
from logstore.storage import LogManager, PartitionLog
from logstore.storage.cleaner import clean_log
from tests.logstore.producers.txn_writer import Writer

from .conftest import open_inline
from .helpers import read_all

RETENTION = 1000
COMPACT = {
    "cleanup.policy": "compact",
    "min.cleanable.dirty.ratio": "0.01",
    "delete.retention.ms": str(RETENTION),
}


def _batches(log: PartitionLog) -> list[tuple[BatchHeader, bytes]]:
    """Every batch of the log, read from its files (CRC checked)."""
    out: list[tuple[BatchHeader, bytes]] = []
    offset = log.log_start_offset
    while offset < log.log_end_offset:  # one segment per read
        with log.read(offset, 1 << 24) as piece:
            data = piece.to_bytes()
            offset = piece.next_offset
        for pos, header in iter_headers(data):
            raw = data[pos : pos + header.size]
            validate_batch(raw)
            out.append((header, raw))
    return out


def _markers(log: PartitionLog) -> dict[int, int | None]:
    """Marker offset -> its delete horizon."""
    return {h.base_offset: h.delete_horizon_ms for h, _ in _batches(log) if h.is_control}


def _clean(log: PartitionLog, producers: ProducerManager, clock: ManualClock) -> None:
    """One pass, then the producer snapshot the broker writes every second."""
    assert clean_log(log, clock.now_ms(), force=True, transactions=producers) is not None
    producers.snapshot()


def _setup(manager: LogManager, clock: ManualClock) -> tuple[ProducerManager, Writer]:
    manager.create_topic("c", 1, COMPACT)
    producers = ProducerManager(manager, clock)
    return producers, Writer(producers, manager.log("c", 0), clock)


def _settle(log: PartitionLog, producers: ProducerManager, clock: ManualClock) -> None:
    """Clean three times, each past the previous pass's delete horizon."""
    for _ in range(3):
        _clean(log, producers, clock)
        clock.advance(RETENTION)


def _write_history(w: Writer) -> None:
    w.data(1, records=[(b"a", b"aborted")])  # 0
    w.marker(1, commit=False)  # 1
    w.data(1, records=[(b"b", b"b1")])  # 2 (superseded by 4)
    w.marker(1, commit=True)  # 3
    w.data(1, records=[(b"b", b"b2")])  # 4: producer 1's last data batch
    w.marker(1, commit=True)  # 5
    w.data(9, records=[(b"c", b"c")], txn=False)  # 6: the pass's last batch
    w.plog.roll()
    w.data(9, records=[(b"z", b"z")], txn=False)  # 7: the active segment


def test_markers_go_after_their_data_and_the_delete_horizon(
    tmp_path: Path, clock: ManualClock
) -> None:
    manager = open_inline(tmp_path / "data", clock)
    producers, w = _setup(manager, clock)
    log = w.plog
    _write_history(w)
    original_ts = decode_records(dict((h.base_offset, raw) for h, raw in _batches(log))[1])[0]

    # Pass 1 removes the aborted data and the superseded b1; their markers stay.
    _clean(log, producers, clock)
    assert [(r.offset, r.value) for r in read_all(log) if r.offset not in _markers(log)] == [
        (4, b"b2"),
        (6, b"c"),
        (7, b"z"),
    ]
    assert _markers(log) == {1: None, 3: None, 5: None}
    assert producers.aborted_transactions(log, 0, 8) == [(1, 0)]

    # Pass 2 finds both transactions empty: the markers get their horizon, the aborted
    # list forgets the abort. The last transaction's data is there: its marker stays as is.
    start = clock.now_ms()
    _clean(log, producers, clock)
    assert _markers(log) == {1: start + RETENTION, 3: start + RETENTION, 5: None}
    assert producers.aborted_transactions(log, 0, 8) == []
    batches = dict((h.base_offset, raw) for h, raw in _batches(log))
    assert read_marker(batches[1]) == (ABORT, 3)
    assert read_marker(batches[3]) == (COMMIT, 3)
    assert decode_records(batches[1])[0] == original_ts  # timestamps kept as deltas

    # Before the horizon nothing moves.
    clock.advance(RETENTION - 1)
    _clean(log, producers, clock)
    assert set(_markers(log)) == {1, 3, 5}

    # The horizon lives in the file: a restart keeps it.
    producers.snapshot()
    manager.close()
    manager = open_inline(tmp_path / "data", clock)
    producers = ProducerManager(manager, clock)
    log = manager.log("c", 0)
    assert _markers(log) == {1: start + RETENTION, 3: start + RETENTION, 5: None}

    clock.advance(1)
    _clean(log, producers, clock)
    assert _markers(log) == {5: None}
    assert [(r.offset, r.value) for r in read_all(log)] == [
        (4, b"b2"),
        (5, b"\x00\x00\x00\x00\x00\x03"),  # the COMMIT marker's record
        (6, b"c"),
        (7, b"z"),
    ]
    assert log.log_end_offset == 8
    assert producers.last_stable_offset(log) == 8
    assert producers.aborted_transactions(log, 0, 8) == []
    manager.close()

    # Producer state rebuilt from the log alone agrees.
    for stale in (tmp_path / "data").rglob("producer-state.json"):
        stale.unlink()
    manager = open_inline(tmp_path / "data", clock)
    rebuilt = ProducerManager(manager, clock)
    log = manager.log("c", 0)
    assert rebuilt.aborted_transactions(log, 0, 8) == []
    assert rebuilt.last_stable_offset(log) == 8
    assert rebuilt.last_batches(log) == {1: (4, 0), 9: (7, 0)}
    manager.close()


def test_a_live_producers_last_batch_and_the_pass_end_stay_empty(
    manager: LogManager, clock: ManualClock
) -> None:
    producers, w = _setup(manager, clock)
    log = w.plog
    w.data(1, records=[(b"a", b"aborted")])  # 0: producer 1's last data batch
    w.marker(1, commit=False)  # 1
    w.data(2, records=[(b"k", b"old")], txn=False)  # 2: superseded
    w.data(2, records=[(b"k", b"new")], txn=False)  # 3
    w.data(3, records=[(b"q", b"aborted")])  # 4: the pass's last batch
    log.roll()
    w.marker(3, commit=False)  # 5: the active segment from here
    w.data(3, records=[(b"z", b"z")], txn=False)  # 6
    _settle(log, producers, clock)
    shapes = [
        (h.base_offset, h.records_count, h.is_control, h.producer_id) for h, _ in _batches(log)
    ]
    # Kafka keeps producer 1's last data batch (its sequence) without its records, so
    # the abort still has data before it and its marker and listing stay too.
    assert shapes == [
        (0, 0, False, 1),
        (1, 1, True, 1),
        (3, 1, False, 2),
        (4, 0, False, 3),  # keeps the end of the cleaned range
        (5, 1, True, 3),
        (6, 1, False, 3),
    ]
    assert producers.aborted_transactions(log, 0, 7) == [(1, 0), (3, 4)]
    assert [(r.offset, r.value) for r in read_all(log) if r.offset not in (1, 5)] == [
        (3, b"new"),
        (6, b"z"),
    ]
    assert log.log_end_offset == 7


def test_a_fencing_marker_without_data_after_it_stays_empty(
    manager: LogManager, clock: ManualClock
) -> None:
    producers, w = _setup(manager, clock)
    log = w.plog
    w.data(1, records=[(b"a", b"x")], epoch=0)  # 0
    w.marker(1, commit=False, epoch=1)  # 1: the coordinator fenced epoch 0
    w.data(2, records=[(b"k", b"v")], txn=False)  # 2
    log.roll()
    w.data(2, records=[(b"k", b"w")], txn=False)  # 3
    assert producers.last_batches(log)[1] == (None, 1)
    _settle(log, producers, clock)
    shapes = [
        (h.base_offset, h.records_count, h.is_control, h.producer_epoch)
        for h, _ in _batches(log)
        if h.producer_id == 1
    ]
    # The fenced data is gone; the marker holding epoch 1 stays, emptied of its record.
    assert shapes == [(1, 0, True, 1)]
    assert producers.aborted_transactions(log, 0, 4) == []
    # A rescan of the log alone still learns epoch 1 from the emptied marker.
    rescanned = ProducerManager(manager, clock)
    assert rescanned.last_batches(log)[1] == (None, 1)
    assert rescanned.last_stable_offset(log) == 4
    # Once the producer writes again, the emptied marker holds nothing: the next pass
    # drops it.
    w.data(1, records=[(b"n", b"new")], epoch=1, txn=False)  # 4
    log.roll()
    w.data(2, records=[(b"k", b"x")], txn=False)  # 5
    _clean(log, producers, clock)
    assert [h.base_offset for h, _ in _batches(log) if h.producer_id == 1] == [4]


def test_an_abort_marker_outlives_its_unsaved_forgetting(
    manager: LogManager, clock: ManualClock
) -> None:
    """A marker goes only once the aborted list without its transaction is saved: a crash
    before that reloads the old list, and the marker it names is still in the log."""
    producers, w = _setup(manager, clock)
    log = w.plog
    _write_history(w)
    producers.snapshot()
    for _ in range(2):  # the data goes, then the abort is forgotten (not saved)
        assert clean_log(log, clock.now_ms(), force=True, transactions=producers)
    assert producers.aborted_transactions(log, 0, 8) == []
    clock.advance(RETENTION)
    assert clean_log(log, clock.now_ms(), force=True, transactions=producers)
    assert set(_markers(log)) == {1, 5}  # the commit's goes; the abort's waits

    # A crash now: the saved state still lists the abort, and its marker is there.
    reloaded = ProducerManager(manager, clock)
    assert reloaded.aborted_transactions(log, 0, 8) == [(1, 0)]
    assert 1 in _markers(log)

    producers.snapshot()
    assert clean_log(log, clock.now_ms(), force=True, transactions=producers)
    assert set(_markers(log)) == {5}
