"""Transactions under compaction and retention: stop at the LSO, drop aborted data, keep
markers while their data is there; retention and DeleteRecords move the log start past aborts (and the saved
aborted list shrinks with it) and the LSO with it."""

from __future__ import annotations

from logstore.clock import ManualClock
from logstore.producers.manager import ProducerManager
from logstore.records import iter_headers
from logstore.storage import LogManager
from tests.logstore.producers.txn_writer import Writer

from .helpers import read_all

COMPACT = {
    "cleanup.policy": "compact",
    "min.cleanable.dirty.ratio": "0.01",
}


def _setup(manager: LogManager, clock: ManualClock) -> tuple[ProducerManager, Writer]:
    manager.create_topic("c", 1, COMPACT)
    producers = ProducerManager(manager, clock)
    manager.lend_transactions(producers)
    return producers, Writer(producers, manager.log("c", 0), clock)


def _data(log) -> list:
    """Data records only (markers are control records)."""
    markers = set(_markers(log))
    return [r for r in read_all(log) if r.offset not in markers]


def _markers(log) -> list[int]:
    out: list[int] = []
    offset = log.log_start_offset
    while offset < log.log_end_offset:  # one segment per read
        with log.read(offset, 1 << 24) as piece:
            out += [h.base_offset for _, h in iter_headers(piece.to_bytes()) if h.is_control]
            offset = piece.next_offset
    return out


def test_aborted_data_is_removed_and_never_shadows_committed_values(
    manager: LogManager, clock: ManualClock
) -> None:
    producers, w = _setup(manager, clock)
    log = w.plog
    w.data(1, records=[(b"a", b"a-committed"), (b"b", b"b-committed")])  # 0-1
    w.marker(1, commit=True)  # 2
    w.data(2, records=[(b"a", b"a-aborted"), (b"c", b"c-aborted")])  # 3-4
    w.marker(2, commit=False)  # 5
    w.data(3, records=[(b"b", b"b-newer")], txn=False)  # 6 (idempotent, not in a txn)
    log.roll()
    w.data(3, records=[(b"z", b"z")], txn=False)  # 7: the active segment
    assert manager.tick()["cleaned"] == 1
    values = {r.offset: (r.key, r.value) for r in _data(log)}
    assert values == {
        0: (b"a", b"a-committed"),  # the aborted a-aborted does not replace it
        6: (b"b", b"b-newer"),
        7: (b"z", b"z"),
    }
    # Markers stay: this pass still found their transactions' data
    # (tests/logstore/storage/test_compaction_markers.py follows them further).
    assert _markers(log) == [2, 5]
    # The aborted index still answers for what remains.
    assert producers.aborted_transactions(log, 0, 8) == [(2, 3)]
    assert log.log_end_offset == 8


def test_nothing_at_or_past_the_lso_is_cleaned(manager: LogManager, clock: ManualClock) -> None:
    producers, w = _setup(manager, clock)
    log = w.plog
    w.data(9, records=[(b"k", b"old")], txn=False)  # 0
    w.data(9, records=[(b"k", b"new")], txn=False)  # 1
    log.roll()
    w.data(1, records=[(b"x", b"open")])  # 2: a transaction left open
    w.data(9, records=[(b"x", b"plain")], txn=False)  # 3
    log.roll()
    w.data(9, records=[(b"y", b"tail")], txn=False)  # 4: the active segment
    assert producers.last_stable_offset(log) == 2
    assert manager.tick()["cleaned"] == 1
    # Only the segment below the LSO was cleaned: the open transaction's key x keeps both.
    assert [(r.offset, r.value) for r in _data(log)] == [
        (1, b"new"),
        (2, b"open"),
        (3, b"plain"),
        (4, b"tail"),
    ]
    # Once it aborts, a later cleaning removes its data.
    w.marker(1, commit=False)  # 5
    log.roll()
    assert manager.tick()["cleaned"] == 1
    assert [(r.offset, r.value) for r in _data(log)] == [
        (1, b"new"),
        (3, b"plain"),
        (4, b"tail"),
    ]
    assert _markers(log) == [5]


def test_retention_drops_old_aborts_and_keeps_the_lso_at_the_log_start(
    manager: LogManager, clock: ManualClock
) -> None:
    manager.create_topic("r", 1, {"retention.bytes": "0"})
    producers = ProducerManager(manager, clock)
    log = manager.log("r", 0)
    w = Writer(producers, log, clock)
    w.data(1)  # 0-1
    w.marker(1, commit=False)  # 2
    w.data(2)  # 3-4: still open when its segment goes
    log.roll()
    w.data(3, txn=False)  # 5-6
    log.roll()
    w.data(3, txn=False)  # 7-8, in the active segment
    assert producers.aborted_transactions(log, 0, 9) == [(1, 0)]
    assert manager.tick()["deleted_segments"] == 2
    assert log.log_start_offset == 7
    assert producers.aborted_transactions(log, 0, 9) == []
    assert producers.last_stable_offset(log) == 7  # never below the log start
    assert producers.ongoing_transaction(log, 2) == 3
    w.marker(2, commit=True)
    assert producers.last_stable_offset(log) == log.log_end_offset == 10


def test_delete_records_past_aborts_drops_them_from_the_saved_state(
    manager: LogManager, clock: ManualClock
) -> None:
    manager.create_topic("d", 1)
    producers = ProducerManager(manager, clock)
    log = manager.log("d", 0)
    w = Writer(producers, log, clock)
    for pid in (1, 2, 3):
        w.data(pid)  # 2 records each
        w.marker(pid, commit=False)
    # 0-1 abort@2, 3-4 abort@5, 6-7 abort@8
    saved = producers.prepare_snapshot()
    assert saved is not None
    assert len(saved["d/0"]["txns"]["aborted"]) == 3
    assert producers.prepare_snapshot() is None  # nothing changed since

    log.delete_records(6)  # nothing else happens: the log start alone moved
    saved = producers.prepare_snapshot()
    assert saved is not None
    assert saved["d/0"]["txns"]["aborted"] == [[3, 6, 8]]
    assert producers.aborted_transactions(log, 0, 9) == [(3, 6)]
    assert producers.prepare_snapshot() is None
