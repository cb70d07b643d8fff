"""Retention by time and size, DeleteRecords and the log start offset."""

from __future__ import annotations

from pathlib import Path

import pytest

from logstore.clock import ManualClock
from logstore.storage import LogManager, OffsetOutOfRangeError

from .helpers import batch, read_all

BATCH = len(batch(1))


@pytest.mark.parametrize(
    ("configs", "ages", "advance", "expected_start"),
    [
        # segment timestamps (ms before now) per one-batch segment, then time passes
        ({"retention.ms": "1000"}, [0, 0, 0], 500, 0),
        ({"retention.ms": "1000"}, [5000, 4000, 0], 0, 2),
        ({"retention.ms": "1000"}, [5000, 0, 5000], 0, 1),  # stops at the first young one
        ({"retention.ms": "1000"}, [0, 0, 0], 2000, 3),  # everything, active rolled away
        ({"retention.ms": "-1"}, [10**9, 10**9, 0], 10**9, 0),
        ({"retention.bytes": str(BATCH * 2)}, [0, 0, 0, 0], 0, 2),
        ({"retention.bytes": "0"}, [0, 0, 0], 0, 2),  # the active segment stays
        ({"retention.bytes": "-1"}, [0, 0, 0], 0, 0),
        # compact-only topics ignore retention (the cleaner is held off by the lag here)
        (
            {"cleanup.policy": "compact", "retention.ms": "1", "min.compaction.lag.ms": "99999"},
            [5000, 5000, 0],
            0,
            0,
        ),
        # an empty policy keeps every segment (Kafka's "infinite retention")
        ({"cleanup.policy": "", "retention.ms": "1", "retention.bytes": "0"}, [5000, 0], 10, 0),
    ],
)
def test_retention(
    manager: LogManager,
    clock: ManualClock,
    configs: dict[str, str],
    ages: list[int],
    advance: int,
    expected_start: int,
) -> None:
    manager.create_topic("t", 1, {"internal.segment.bytes": str(BATCH), **configs})
    log = manager.log("t", 0)
    for age in ages:
        log.append(batch(1, ts=clock.now_ms() - age))
    clock.advance(advance)
    manager.tick()
    assert log.log_start_offset == expected_start
    assert log.log_end_offset == len(ages)
    assert [r.offset for r in read_all(log)] == list(range(expected_start, len(ages)))
    if expected_start:
        with pytest.raises(OffsetOutOfRangeError):
            log.read(expected_start - 1, 100)


def test_delete_records(manager: LogManager) -> None:
    manager.create_topic("t", 1, {"internal.segment.bytes": str(len(batch(2)))})
    log = manager.log("t", 0)
    for _ in range(4):
        log.append(batch(2))
    assert log.delete_records(3) == 3
    assert len(log.segments) == 3  # the first segment [0, 1] is gone
    assert [r.offset for r in read_all(log)] == [3, 4, 5, 6, 7]
    assert log.delete_records(1) == 3  # never moves backwards
    with pytest.raises(OffsetOutOfRangeError) as info:
        log.delete_records(9)
    assert info.value.code == 1
    assert log.delete_records(-1) == 8
    assert log.read(8, 100).size == 0
    log.append(batch(1))
    assert [r.offset for r in read_all(log)] == [8]


def test_log_start_offset_survives_restart(tmp_path: Path, clock: ManualClock) -> None:
    with LogManager(tmp_path, clock=clock) as mgr:
        mgr.create_topic("t", 1)
        log = mgr.log("t", 0)
        log.append(batch(5))
        log.delete_records(2)
    with LogManager(tmp_path, clock=clock) as mgr:
        log = mgr.log("t", 0)
        assert (log.log_start_offset, log.log_end_offset) == (2, 5)
        assert log.append(batch(1)).log_start_offset == 2


def test_retention_waits_for_the_check_interval(tmp_path: Path, clock: ManualClock) -> None:
    """Kafka's log.retention.check.interval.ms: records stamped long ago stay readable
    until the first check (at most log.initial.task.delay.ms, 30 s, after start-up), then
    retention runs once per interval, however often the maintenance tick comes."""
    day = 86_400_000
    with LogManager(tmp_path, clock=clock, fsync="never") as mgr:
        assert mgr.retention_check_interval_ms == 300_000
        mgr.create_topic("t", 1, {"internal.segment.bytes": str(BATCH), "retention.ms": str(day)})
        log = mgr.log("t", 0)
        for _ in range(3):
            log.append(batch(1, ts=0))  # stamped 1970
        clock.advance(29_999)
        assert mgr.tick()["deleted_segments"] == 0
        assert log.log_start_offset == 0
        clock.advance(1)
        assert mgr.tick()["deleted_segments"] == 3  # the active one rolled away too
        assert log.log_start_offset == 3
        log.append(batch(1, ts=0))
        clock.advance(299_999)
        assert mgr.tick()["deleted_segments"] == 0
        clock.advance(1)
        assert mgr.tick()["deleted_segments"] == 1
        # A new interval counts from the moment it is set.
        mgr.retention_check_interval_ms = 1_000
        log.append(batch(1, ts=0))
        assert mgr.tick()["deleted_segments"] == 0
        clock.advance(1_000)
        assert mgr.tick()["deleted_segments"] == 1
        with pytest.raises(ValueError):
            mgr.retention_check_interval_ms = -1
