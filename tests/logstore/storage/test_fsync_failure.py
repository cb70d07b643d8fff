"""A failed fsync, on a filesystem that really fails it (`tests/faultfs.py`).

Linux may drop the pages it could not write and report the error once, so an fsync that
succeeds after a failed one proves nothing. The partition must go offline at the first
failure: its waiters are answered KAFKA_STORAGE_ERROR, nothing later is acknowledged, and
only a restart's recovery brings it back. Partitions whose own fsyncs succeeded are not
touched. Every path that fsyncs is covered: group commit (acks=all), the interval policy
(in the loop and outside it), a topic's flush.ms, and close.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from logstore.clock import ManualClock
from logstore.storage import KafkaStorageError, LogManager
from tests.faultfs import FaultFs

from .helpers import batch, read_all

KEEP = {"retention.ms": "-1"}  # test batches carry old timestamps


def _open(data: Path, **kwargs) -> LogManager:
    mgr = LogManager(data, **kwargs).open()
    for topic in ("doomed", "steady"):
        if mgr.topic(topic) is None:
            mgr.create_topic(topic, 1, KEEP)
    return mgr


def _assert_offline_for_good(mgr: LogManager, faultfs: FaultFs) -> None:
    doomed = mgr.log("doomed", 0)
    assert doomed.offline
    assert "fsync failed" in (doomed.recovery_error or "")
    faultfs.heal()  # the disk answers again: still no acknowledgement past the failure
    with pytest.raises(KafkaStorageError, match="fsync failed"):
        doomed.append(batch(1))
    assert doomed.begin_flush() is None


def _assert_recovered(data: Path, *, doomed_end: int, **kwargs) -> None:
    """A restart's recovery keeps what reached the disk and serves the partition again."""
    mgr = _open(data, **kwargs)
    try:
        doomed = mgr.log("doomed", 0)
        assert not doomed.offline
        assert [r.offset for r in read_all(doomed)] == list(range(doomed_end))
        assert doomed.append(batch(1)).base_offset == doomed_end
    finally:
        mgr.close()


async def test_acks_all_waiters_of_the_failed_partition_fail_and_the_others_succeed(
    faultfs: FaultFs,
) -> None:
    data = faultfs.mountpoint / "data"
    mgr = _open(data, fsync="always")
    doomed, steady = mgr.log("doomed", 0), mgr.log("steady", 0)
    for log in (doomed, steady):
        await mgr.wait_durable(log, log.append(batch(1)).last_offset)
    faultfs.fail_fsync("data/doomed-0/")
    waits = [mgr.wait_durable(log, log.append(batch(1)).last_offset) for log in (doomed, steady)]
    failed, succeeded = await asyncio.gather(*waits, return_exceptions=True)
    assert isinstance(failed, KafkaStorageError)
    assert "partition doomed-0 is offline: fsync failed (Input/output error)" in str(failed)
    assert succeeded is None
    assert (doomed.flushed_offset, steady.flushed_offset) == (1, 2)
    _assert_offline_for_good(mgr, faultfs)
    with pytest.raises(KafkaStorageError):
        await mgr.wait_durable(doomed, 1)
    await mgr.wait_durable(steady, steady.append(batch(1)).last_offset)
    mgr.close()  # closing an offline partition neither fsyncs it nor stops the others
    _assert_recovered(data, doomed_end=2, fsync="always")


def _interval_due(faultfs: FaultFs) -> LogManager:
    """An interval-policy manager whose interval is due, with one unsynced record on each
    partition and the doomed one's fsyncs failing."""
    clock = ManualClock()
    mgr = _open(faultfs.mountpoint / "data", clock=clock, fsync="interval", fsync_interval_ms=1000)
    faultfs.fail_fsync("data/doomed-0/")
    for topic in ("doomed", "steady"):
        mgr.log(topic, 0).append(batch(1))
    clock.advance(1000)
    return mgr


def _after_the_interval_round(mgr: LogManager, faultfs: FaultFs) -> None:
    assert (mgr.log("doomed", 0).flushed_offset, mgr.log("steady", 0).flushed_offset) == (0, 1)
    _assert_offline_for_good(mgr, faultfs)
    mgr.close()
    _assert_recovered(faultfs.mountpoint / "data", doomed_end=1, fsync="interval")


async def test_the_interval_policy_takes_the_partition_offline(faultfs: FaultFs) -> None:
    mgr = _interval_due(faultfs)
    assert mgr.tick()["fsynced"] == 1
    await mgr.flush_pending()  # the round ran in a thread
    _after_the_interval_round(mgr, faultfs)


def test_the_interval_policy_outside_a_loop_syncs_the_others(faultfs: FaultFs) -> None:
    mgr = _interval_due(faultfs)
    assert mgr.tick()["fsynced"] == 1  # fsyncs inline; the failure does not escape
    _after_the_interval_round(mgr, faultfs)


def test_a_topics_flush_ms_takes_the_partition_offline(faultfs: FaultFs) -> None:
    data = faultfs.mountpoint / "data"
    clock = ManualClock()
    mgr = LogManager(data, clock=clock, fsync="never").open()
    mgr.create_topic("doomed", 1, {"flush.ms": "1000", **KEEP})
    doomed = mgr.log("doomed", 0)
    faultfs.fail_fsync("data/doomed-0/")
    doomed.append(batch(1))
    clock.advance(1000)
    mgr.tick()
    mgr.background.wait_io()  # the flush.ms fsync ran on the io thread; apply its outcome
    assert doomed.flushed_offset == 0
    _assert_offline_for_good(mgr, faultfs)
    mgr.close()
    _assert_recovered(data, doomed_end=1, fsync="never")


def test_a_failed_fsync_at_close_leaves_the_others_closed_and_checkpointed(
    faultfs: FaultFs,
) -> None:
    data = faultfs.mountpoint / "data"
    mgr = _open(data, fsync="never")
    doomed, steady = mgr.log("doomed", 0), mgr.log("steady", 0)
    doomed.append(batch(1))
    steady.append(batch(1))
    faultfs.fail_fsync("data/doomed-0/")
    mgr.close()
    assert doomed.offline
    assert steady.flushed_offset == 1
    faultfs.heal()
    _assert_recovered(data, doomed_end=1, fsync="never")
