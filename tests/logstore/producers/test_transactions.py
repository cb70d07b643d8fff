"""Transaction state over a real LogManager: LSO, aborted transactions, snapshots, rebuild."""

from __future__ import annotations

import os
from pathlib import Path

from logstore.clock import ManualClock
from logstore.producers.manager import ProducerManager
from logstore.records import build_batch, parse_header
from logstore.storage import LogManager
from logstore.storage.checkpoints import CLEAN_SHUTDOWN, RECOVERY_POINTS, write_offsets
from tests.logstore.producers.txn_writer import Writer


def open_logs(path: Path, clock: ManualClock) -> LogManager:
    return LogManager(path, fsync="never", clock=clock).open()


def test_lso_follows_open_transactions_and_aborts_are_listed(tmp_path) -> None:
    clock = ManualClock()
    logs = open_logs(tmp_path, clock)
    logs.create_topic("t", 1)
    manager = ProducerManager(logs, clock)
    plog = logs.log("t", 0)
    w = Writer(manager, plog, clock)

    assert manager.last_stable_offset(plog) == 0
    w.plain(3)  # 0..2
    assert manager.last_stable_offset(plog) == 3
    assert w.data(10) == 3  # txn of 10 opens at 3
    assert w.data(11) == 5  # txn of 11 opens at 5
    w.data(10)  # 7..8
    w.plain()  # 9
    assert manager.last_stable_offset(plog) == 3
    assert manager.ongoing_transaction(plog, 10) == 3
    assert manager.ongoing_transaction(plog, 11) == 5
    assert manager.ongoing_transaction(plog, 12) is None
    assert w.marker(10, commit=True) == 10
    assert manager.last_stable_offset(plog) == 5
    assert manager.ongoing_transaction(plog, 10) is None
    assert w.marker(11, commit=False) == 11
    assert manager.last_stable_offset(plog) == plog.log_end_offset == 12
    assert manager.aborted_transactions(plog, 0, 12) == [(11, 5)]
    assert manager.aborted_transactions(plog, 11, 12) == [(11, 5)]
    assert manager.aborted_transactions(plog, 12, 20) == []
    assert manager.aborted_transactions(plog, 0, 5) == []
    # An abort with no data is an aborted transaction starting at its marker (as Kafka).
    assert w.marker(12, commit=False) == 12
    assert manager.aborted_transactions(plog, 0, 13) == [(11, 5), (12, 12)]
    views = {v.producer_id: v for v in manager.producers(plog)}
    assert views[11].coordinator_epoch == 3
    assert views[11].current_txn_start_offset == -1
    assert views[11].last_sequence == 1
    logs.close()


def _scenario(tmp_path: Path, clock: ManualClock, *, snapshot_at: int | None) -> None:
    logs = open_logs(tmp_path, clock)
    logs.create_topic("t", 1)
    manager = ProducerManager(logs, clock)
    plog = logs.log("t", 0)
    w = Writer(manager, plog, clock)
    steps = [
        lambda: w.data(1),  # 0-1
        lambda: w.data(2),  # 2-3
        lambda: w.marker(1, commit=False),  # 4
        lambda: w.data(3),  # 5-6 stays open
        lambda: w.data(2),  # 7-8
        lambda: w.marker(2, commit=False),  # 9
    ]
    for i, step in enumerate(steps):
        if i == snapshot_at:
            manager.snapshot()
        step()
    assert manager.last_stable_offset(plog) == 5
    assert manager.aborted_transactions(plog, 0, 10) == [(1, 0), (2, 2)]
    logs.close()


def test_state_survives_reopen_from_any_snapshot_point(tmp_path) -> None:
    for snapshot_at in (None, 0, 2, 3, 5):
        path = tmp_path / f"s{snapshot_at}"
        clock = ManualClock()
        _scenario(path, clock, snapshot_at=snapshot_at)
        logs = open_logs(path, clock)
        again = ProducerManager(logs, clock)
        plog = logs.log("t", 0)
        assert again.last_stable_offset(plog) == 5, snapshot_at
        assert again.aborted_transactions(plog, 0, 10) == [(1, 0), (2, 2)], snapshot_at
        assert again.aborted_transactions(plog, 5, 10) == [(2, 2)], snapshot_at
        assert again.ongoing_transaction(plog, 3) == 5
        # The open transaction still ends with its marker after the reopen.
        w = Writer(again, plog, clock)
        w.seqs[3] = 2
        w.data(3)
        w.marker(3, commit=True)
        assert again.last_stable_offset(plog) == plog.log_end_offset
        logs.close()


def test_snapshot_taken_with_open_transaction_then_reopened(tmp_path) -> None:
    clock = ManualClock()
    logs = open_logs(tmp_path, clock)
    logs.create_topic("t", 1)
    manager = ProducerManager(logs, clock)
    plog = logs.log("t", 0)
    w = Writer(manager, plog, clock)
    w.data(5)
    manager.snapshot()
    w.marker(5, commit=False)
    w.plain()
    logs.close()
    logs = open_logs(tmp_path, clock)
    again = ProducerManager(logs, clock)
    plog = logs.log("t", 0)
    assert again.last_stable_offset(plog) == 4
    assert again.aborted_transactions(plog, 0, 4) == [(5, 0)]
    logs.close()


def test_delete_records_keeps_lso_at_or_above_log_start_and_drops_old_aborts(tmp_path) -> None:
    clock = ManualClock()
    logs = open_logs(tmp_path, clock)
    logs.create_topic("t", 1)
    manager = ProducerManager(logs, clock)
    plog = logs.log("t", 0)
    w = Writer(manager, plog, clock)
    w.data(1)  # 0-1
    w.marker(1, commit=False)  # 2
    w.data(2)  # 3-4 open
    w.plain(3)  # 5-7
    plog.delete_records(4)
    assert manager.last_stable_offset(plog) == 4
    assert manager.aborted_transactions(plog, 4, 8) == []
    plog.delete_records(6)
    assert manager.last_stable_offset(plog) == 6
    manager.snapshot()
    logs.close()
    logs = open_logs(tmp_path, clock)
    again = ProducerManager(logs, clock)
    plog = logs.log("t", 0)
    assert plog.log_start_offset == 6
    assert again.last_stable_offset(plog) == 6
    assert again.ongoing_transaction(plog, 2) == 3
    logs.close()


def test_marker_first_to_load_a_partition_is_counted_once(tmp_path) -> None:
    clock = ManualClock()
    logs = open_logs(tmp_path, clock)
    logs.create_topic("t", 1)
    manager = ProducerManager(logs, clock)
    plog = logs.log("t", 0)
    Writer(manager, plog, clock).data(4)
    logs.close()
    logs = open_logs(tmp_path, clock)
    again = ProducerManager(logs, clock)
    plog = logs.log("t", 0)
    # Nothing loaded this partition yet: the marker's own record() loads it.
    Writer(again, plog, clock).marker(4, commit=False)
    assert again.aborted_transactions(plog, 0, 10) == [(4, 0)]
    assert again.last_stable_offset(plog) == 3
    logs.close()


def test_abort_marker_with_new_epoch_restarts_sequences(tmp_path) -> None:
    clock = ManualClock()
    logs = open_logs(tmp_path, clock)
    logs.create_topic("t", 1)
    manager = ProducerManager(logs, clock)
    plog = logs.log("t", 0)
    w = Writer(manager, plog, clock)
    w.data(8, epoch=0)
    w.marker(8, commit=False, epoch=1)  # fenced: the coordinator aborts at the bumped epoch
    batch = build_batch(
        [(None, b"x")], producer_id=8, producer_epoch=1, base_sequence=0, transactional=True
    )
    assert manager.check(plog, parse_header(batch)) is None
    [view] = manager.producers(plog)
    assert (view.producer_epoch, view.last_sequence) == (1, -1)
    logs.close()


def test_snapshot_past_a_truncated_log_end_is_not_trusted(tmp_path) -> None:
    """A torn tail cut by recovery, then new appends before the state is loaded: the
    snapshot taken over the lost tail must not be used."""
    clock = ManualClock()
    logs = open_logs(tmp_path, clock)
    logs.create_topic("t", 1)
    manager = ProducerManager(logs, clock)
    plog = logs.log("t", 0)
    w = Writer(manager, plog, clock)
    w.plain()  # 0
    w.data(7)  # 1-2: open when the snapshot is taken, then lost with the tail
    manager.snapshot()
    segment = plog.segments[-1].log_path
    logs.close()
    (tmp_path / CLEAN_SHUTDOWN).unlink()
    write_offsets(tmp_path / RECOVERY_POINTS, [("t", 0, 0)])
    os.truncate(segment, len(build_batch([(None, b"p")], timestamp=clock.now_ms())) + 5)

    logs = open_logs(tmp_path, clock)
    plog = logs.log("t", 0)
    assert plog.log_end_offset == 1
    again = ProducerManager(logs, clock)
    plog.append(build_batch([(None, b"x")] * 3))  # 1-3, no producer id: loads no state
    assert again.last_stable_offset(plog) == 4
    assert again.ongoing_transaction(plog, 7) is None
    logs.close()
