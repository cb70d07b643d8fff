"""A segment roll the disk has no room for (`tests/faultfs.py`).

The new segment's file cannot be made, so the old segment stays active: the append that
needed the roll is KAFKA_STORAGE_ERROR, producers waiting for the old segment's fsync are
answered, the next append tries again and succeeds once there is room, and retention
still deletes every segment but the active one (which is what frees room).
"""

from __future__ import annotations

import asyncio

import pytest

from logstore.clock import ManualClock
from logstore.storage import KafkaStorageError, LogManager, PartitionLog
from tests.faultfs import FaultFs

from .helpers import batch, read_all

SMALL = {"internal.segment.bytes": str(2 * len(batch(1, size=300)))}


def _fill_next_segments(faultfs: FaultFs, log: PartitionLog) -> None:
    """No room for the files of any segment the next appends could start."""
    ends = range(log.log_end_offset, log.log_end_offset + 8)
    faultfs.fill(*(f"data/{log.name}/{offset:020d}" for offset in ends))


async def test_the_old_segment_stays_active_until_there_is_room(faultfs: FaultFs) -> None:
    data = faultfs.mountpoint / "data"
    mgr = LogManager(data, fsync="always").open()
    mgr.create_topic("rolling", 1, {"retention.ms": "-1", **SMALL})
    log = mgr.log("rolling", 0)
    log.append(batch(1, size=300))
    pending = log.append(batch(1, size=300)).last_offset  # fills the segment, not synced
    _fill_next_segments(faultfs, log)
    for _ in range(2):
        with pytest.raises(KafkaStorageError, match=r"write to rolling-0 failed.*No space left"):
            log.append(batch(1, size=300))
    assert [s.base_offset for s in log.segments] == [0]
    await asyncio.wait_for(mgr.wait_durable(log, pending), 10)
    assert log.flushed_offset == 2
    faultfs.heal()
    assert log.append(batch(1, size=300)).base_offset == 2
    assert [s.base_offset for s in log.segments] == [0, 2]
    mgr.close()
    with LogManager(data, fsync="always") as again:
        assert [r.offset for r in read_all(again.log("rolling", 0))] == [0, 1, 2]


def test_retention_deletes_all_but_the_active_segment(faultfs: FaultFs) -> None:
    data = faultfs.mountpoint / "data"
    clock = ManualClock()
    mgr = LogManager(data, clock=clock, fsync="never").open()
    mgr.create_topic("expiring", 1, {"retention.ms": "1000", **SMALL})
    log = mgr.log("expiring", 0)
    for _ in range(5):
        log.append(batch(1, size=300, ts=clock.now_ms()))
    assert [s.base_offset for s in log.segments] == [0, 2, 4]
    _fill_next_segments(faultfs, log)
    clock.advance(10**6)
    mgr.tick()  # every segment expired; no room to roll the active one away
    assert [s.base_offset for s in log.segments] == [4]
    assert log.log_start_offset == 4
    faultfs.heal()
    clock.advance(10**6)
    mgr.tick()  # now the active one rolls away too
    assert log.log_start_offset == 5
    mgr.close()
