"""PartitionLog basics: offsets, reads of whole batches, timestamps, reopen."""

from __future__ import annotations

import pytest

from logstore.clock import ManualClock
from logstore.records import build_batch, split_batches, validate_batch
from logstore.storage import LogManager, OffsetOutOfRangeError

from .helpers import batch, read_all


def test_offsets_are_assigned_per_batch(manager: LogManager) -> None:
    manager.create_topic("t", 1)
    log = manager.log("t", 0)
    first = log.append(batch(3))
    second = log.append(batch(2))
    assert (first.base_offset, first.last_offset) == (0, 2)
    assert (second.base_offset, second.last_offset) == (3, 4)
    assert log.log_end_offset == 5
    assert [r.offset for r in read_all(log)] == [0, 1, 2, 3, 4]


def test_read_returns_the_batch_containing_the_offset(manager: LogManager) -> None:
    manager.create_topic("t", 1)
    log = manager.log("t", 0)
    log.append(batch(3))
    log.append(batch(3))
    data = log.read_batches(4, 1 << 20)
    headers = [validate_batch(v) for v in split_batches(data)]
    assert [h.base_offset for h in headers] == [3]


def test_read_gives_at_least_one_batch_even_when_larger_than_max_bytes(
    manager: LogManager,
) -> None:
    manager.create_topic("t", 1)
    log = manager.log("t", 0)
    log.append(batch(10, size=100))
    log.append(batch(10, size=100))
    with log.read(0, 10) as piece:
        views = split_batches(piece.to_bytes())
    assert len(views) == 1


def test_read_at_end_is_empty_and_beyond_is_out_of_range(manager: LogManager) -> None:
    manager.create_topic("t", 1)
    log = manager.log("t", 0)
    log.append(batch(2))
    assert log.read(2, 100).size == 0
    with pytest.raises(OffsetOutOfRangeError):
        log.read(3, 100)


def test_reopen_keeps_everything(tmp_path, clock: ManualClock) -> None:
    with LogManager(tmp_path, clock=clock) as mgr:
        info = mgr.create_topic("t", 2, {"internal.segment.bytes": "500"})
        for i in range(20):
            mgr.log("t", 1).append(batch(2, tag=f"v{i}-"))
    with LogManager(tmp_path, clock=clock) as mgr:
        assert mgr.topic("t") == info
        log = mgr.log("t", 1)
        assert log.recovery.scanned_segments == 0
        assert log.log_end_offset == 40
        assert len(log.segments) > 3
        assert [r.offset for r in read_all(log)] == list(range(40))


def test_offset_for_timestamp_and_max_timestamp(manager: LogManager) -> None:
    manager.create_topic("t", 1)
    log = manager.log("t", 0)
    log.append(build_batch([(b"a", b"1"), (b"b", b"2")], timestamps=[100, 300]))
    log.append(build_batch([(b"c", b"3")], timestamp=200))
    assert log.offset_for_timestamp(150) == (1, 300)
    assert log.offset_for_timestamp(50) == (0, 100)
    assert log.offset_for_timestamp(301) is None
    assert log.max_timestamp() == (1, 300)
