"""fsync policies: group commit for "always", interval fsync on tick, "never"."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from logstore.clock import ManualClock
from logstore.storage import (
    KafkaStorageError,
    LogManager,
    PartitionLog,
    UnknownTopicOrPartitionError,
)

from .helpers import batch

KEEP = {"retention.ms": "-1"}  # test batches carry old timestamps


async def produce(mgr: LogManager, log: PartitionLog) -> int:
    result = log.append(batch(1))
    await mgr.wait_durable(log, result.last_offset)
    return result.last_offset


async def test_concurrent_producers_share_one_fsync_per_partition(tmp_path: Path) -> None:
    with LogManager(tmp_path, fsync="always") as mgr:
        mgr.create_topic("t", 2, KEEP)
        logs = [mgr.log("t", 0), mgr.log("t", 1)]
        offsets = await asyncio.gather(*(produce(mgr, logs[i % 2]) for i in range(50)))
        assert sorted(offsets) == sorted(list(range(25)) * 2)
        assert mgr.stats["flush_rounds"] == 1
        # A new partition's first round also makes its directory entries durable (the
        # data dir's and its own): 3 fsyncs each; later rounds fsync the log alone.
        assert mgr.stats["fsyncs"] == 2 * 3
        assert [log.flushed_offset for log in logs] == [25, 25]
        # Already durable: no new fsync.
        await mgr.wait_durable(logs[0], 10)
        assert mgr.stats["flush_rounds"] == 1
        await asyncio.gather(*(produce(mgr, logs[i % 2]) for i in range(10)))
        assert mgr.stats["flush_rounds"] == 2
        assert mgr.stats["fsyncs"] == 2 * 3 + 2


async def test_producers_arriving_during_an_fsync_join_the_next_round(tmp_path: Path) -> None:
    with LogManager(tmp_path, fsync="always") as mgr:
        mgr.create_topic("t", 1, KEEP)
        log = mgr.log("t", 0)
        first = asyncio.gather(*(produce(mgr, log) for _ in range(10)))
        await asyncio.sleep(0)  # the first round starts
        second = asyncio.gather(*(produce(mgr, log) for _ in range(10)))
        await asyncio.gather(first, second)
        assert 1 <= mgr.stats["flush_rounds"] <= 2
        assert log.flushed_offset == 20


async def test_interval_policy_fsyncs_on_tick(tmp_path: Path) -> None:
    clock = ManualClock()
    with LogManager(tmp_path, clock=clock, fsync="interval", fsync_interval_ms=1000) as mgr:
        mgr.create_topic("t", 1, KEEP)
        log = mgr.log("t", 0)
        await produce(mgr, log)
        assert log.flushed_offset == 0
        assert mgr.tick()["fsynced"] == 0
        clock.advance(1000)
        assert mgr.tick()["fsynced"] == 1
        await mgr.flush_pending()  # inside the loop the fsync ran in a thread
        assert log.flushed_offset == 1
        assert mgr.stats["flush_rounds"] == 1


def test_interval_policy_outside_an_event_loop_fsyncs_inline(tmp_path: Path) -> None:
    clock = ManualClock()
    with LogManager(tmp_path, clock=clock, fsync="interval", fsync_interval_ms=1000) as mgr:
        mgr.create_topic("t", 1, KEEP)
        log = mgr.log("t", 0)
        log.append(batch(1))
        clock.advance(1000)
        assert mgr.tick()["fsynced"] == 1
        assert log.flushed_offset == 1


async def test_never_policy_leaves_it_to_close_unless_topic_flushes_every_message(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    with LogManager(tmp_path, clock=clock, fsync="never") as mgr:
        mgr.create_topic("t", 1, KEEP)
        mgr.create_topic("strict", 1, {"flush.messages": "1", **KEEP})
        log, strict = mgr.log("t", 0), mgr.log("strict", 0)
        await produce(mgr, log)
        await produce(mgr, strict)
        clock.advance(10**6)
        mgr.tick()
        assert log.flushed_offset == 0
        assert strict.flushed_offset == 1
    with LogManager(tmp_path, clock=clock) as mgr:
        assert mgr.log("t", 0).log_end_offset == 1


async def test_deleting_a_topic_fails_its_waiters(tmp_path: Path) -> None:
    with LogManager(tmp_path, fsync="always") as mgr:
        mgr.create_topic("t", 1, KEEP)
        log = mgr.log("t", 0)
        log.append(batch(1))
        waiter = asyncio.ensure_future(mgr.wait_durable(log, 0))
        await asyncio.sleep(0)  # the waiter has queued (no time passes)
        mgr.delete_topic("t")
        results = await asyncio.gather(waiter, return_exceptions=True)
        assert isinstance(results[0], UnknownTopicOrPartitionError)


async def test_a_wait_queued_after_its_topic_was_deleted_fails_and_strands_nobody(
    tmp_path: Path,
) -> None:
    # The produce handler appends, then waits a loop turn later; a DeleteTopics served in
    # between used to leave that waiter, and every other one of its round, unanswered.
    with LogManager(tmp_path, fsync="always") as mgr:
        mgr.create_topic("t", 1, KEEP)
        mgr.create_topic("u", 1, KEEP)
        gone, kept = mgr.log("t", 0), mgr.log("u", 0)
        gone.append(batch(1))
        kept.append(batch(1))
        mgr.delete_topic("t")
        results = await asyncio.wait_for(
            asyncio.gather(
                mgr.wait_durable(gone, 0), mgr.wait_durable(kept, 0), return_exceptions=True
            ),
            timeout=10,
        )
        assert isinstance(results[0], UnknownTopicOrPartitionError)
        assert results[1] is None
        assert kept.flushed_offset == 1


async def test_a_roll_leaves_its_fsync_to_the_next_flush_round(
    tmp_path: Path, clock: ManualClock
) -> None:
    """Rolling (inside an append or a tick, on the event loop) does not fsync; the old
    segment and the new directory entry are fsynced by the next round, before the
    recovery point moves past them."""
    size = len(batch(1))
    with LogManager(tmp_path, fsync="always", clock=clock) as mgr:
        mgr.create_topic("t", 1, {**KEEP, "internal.segment.bytes": str(2 * size)})
        log = mgr.log("t", 0)
        for _ in range(5):  # rolls after offsets 1 and 3
            log.append(batch(1))
        assert [s.base_offset for s in log.segments] == [0, 2, 4]
        assert log.flushed_offset == 0
        await mgr.wait_durable(log, 4)
        assert log.flushed_offset == 5
        # One round: the data dir (the new partition's entry), the two rolled segments,
        # the partition directory once, then the active one.
        assert (mgr.stats["flush_rounds"], mgr.stats["fsyncs"]) == (1, 5)
        log.append(batch(1))
        await mgr.wait_durable(log, 5)
        assert (mgr.stats["flush_rounds"], mgr.stats["fsyncs"]) == (2, 6)


async def test_a_waiter_no_round_can_cover_fails_instead_of_spinning(tmp_path: Path) -> None:
    """Defence in depth: unflushed data without a writable segment to fsync (the state a
    roll refused for room used to leave) fails its waiter at once; re-queuing it kept the
    event loop at a full core."""
    with LogManager(tmp_path, fsync="always") as mgr:
        mgr.create_topic("t", 1, KEEP)
        log = mgr.log("t", 0)
        offset = log.append(batch(1)).last_offset
        log.active.close_active(sync=False)
        with pytest.raises(KafkaStorageError, match="t-0 has no segment to fsync"):
            await asyncio.wait_for(mgr.wait_durable(log, offset), 10)
