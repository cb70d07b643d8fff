"""ProducerManager over a real LogManager: the hook, snapshots and rebuild on reopen."""

from __future__ import annotations

import pytest

from logstore.clock import ManualClock
from logstore.groups import errors as err
from logstore.producers.manager import PRODUCER_ID_EXPIRATION_MS, ProducerManager
from logstore.producers.state import ProducerStateError
from logstore.records import build_batch, parse_header
from logstore.storage import LogManager


def append(manager: ProducerManager, plog, pid: int, epoch: int, seq: int, n: int, ts: int):
    batch = build_batch(
        [(None, b"v")] * n,
        producer_id=pid,
        producer_epoch=epoch,
        base_sequence=seq,
        timestamp=ts,
    )
    header = parse_header(batch)
    dup = manager.check(plog, header)
    if dup is not None:
        return dup.base_offset
    result = plog.append(batch)
    manager.record(plog, header, result.base_offset)
    return result.base_offset


def test_duplicates_survive_reopen_with_and_without_snapshot(tmp_path) -> None:
    clock = ManualClock()
    logs = LogManager(tmp_path, fsync="never", clock=clock).open()
    logs.create_topic("t", 1)
    manager = ProducerManager(logs, clock)
    plog = logs.log("t", 0)
    now = clock.now_ms()
    assert append(manager, plog, 7, 0, 0, 3, now) == 0
    manager.snapshot()
    assert append(manager, plog, 7, 0, 3, 2, now) == 3  # after the snapshot: headers only
    logs.close()

    logs = LogManager(tmp_path, fsync="never", clock=clock).open()
    again = ProducerManager(logs, clock)
    plog = logs.log("t", 0)
    assert append(again, plog, 7, 0, 0, 3, now) == 0
    assert append(again, plog, 7, 0, 3, 2, now) == 3
    assert plog.log_end_offset == 5
    with pytest.raises(ProducerStateError) as exc:
        append(again, plog, 7, 0, 9, 1, now)
    assert exc.value.code == err.OUT_OF_ORDER_SEQUENCE_NUMBER
    logs.close()


def test_init_producer_hands_out_a_new_id_at_epoch_0_each_time(tmp_path) -> None:
    logs = LogManager(tmp_path, fsync="never").open()
    manager = ProducerManager(logs)
    first, second = manager.init_producer(), manager.init_producer()
    assert (first[1], second[1]) == (0, 0)
    assert first[0] != second[0]
    logs.close()


def test_idle_producers_expire_at_snapshot(tmp_path) -> None:
    clock = ManualClock()
    logs = LogManager(tmp_path, fsync="never", clock=clock).open()
    logs.create_topic("t", 1)
    manager = ProducerManager(logs, clock)
    plog = logs.log("t", 0)
    append(manager, plog, 1, 0, 0, 1, clock.now_ms())
    clock.advance(PRODUCER_ID_EXPIRATION_MS + 1)
    manager.snapshot()
    # Forgotten: a batch at any sequence is accepted as from a new producer.
    assert append(manager, plog, 1, 0, 50, 1, clock.now_ms()) == 1
    logs.close()


def test_snapshot_written_from_another_thread_is_what_a_reopen_loads(tmp_path) -> None:
    import json
    import threading

    from logstore.producers.manager import SNAPSHOT_FILE

    clock = ManualClock()
    logs = LogManager(tmp_path, fsync="never", clock=clock).open()
    logs.create_topic("t", 1)
    manager = ProducerManager(logs, clock)
    plog = logs.log("t", 0)
    now = clock.now_ms()
    append(manager, plog, 7, 0, 0, 3, now)
    data = manager.prepare_snapshot()
    assert data is not None
    assert manager.prepare_snapshot() is None  # nothing changed since
    manager.forget_topic("other")  # edits live state while the thread writes the copy
    writer = threading.Thread(target=manager.write_snapshot, args=(data,))
    writer.start()
    writer.join(10)
    saved = json.loads((tmp_path / logs.state_dir("producers") / SNAPSHOT_FILE).read_text())
    assert saved["t/0"]["offset"] == 3
    logs.close()

    logs = LogManager(tmp_path, fsync="never", clock=clock).open()
    again = ProducerManager(logs, clock)
    assert append(again, logs.log("t", 0), 7, 0, 0, 3, now) == 0  # a duplicate, known
    assert logs.log("t", 0).log_end_offset == 3
    logs.close()
