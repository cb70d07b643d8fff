"""Compaction off the event loop: tick starts a job, a worker builds the cleaned files, a
later tick swaps them in unless the log changed underneath; close cancels cleanly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from logstore.clock import ManualClock
from logstore.records import build_batch
from logstore.storage import KafkaStorageError, LogManager, PartitionLog
from logstore.storage.background import InlineExecutor
from logstore.storage.cleaner import Throttle

from .helpers import GatedExecutor, read_all

COMPACT = {
    "cleanup.policy": "compact",
    "internal.segment.bytes": "300",
    "min.cleanable.dirty.ratio": "0.01",
}


@pytest.fixture
def gate() -> GatedExecutor:
    return GatedExecutor()


@pytest.fixture
def gated(tmp_path: Path, clock: ManualClock, gate: GatedExecutor) -> Iterator[LogManager]:
    mgr = LogManager(
        tmp_path / "data",
        clock=clock,
        fsync="never",
        cleaner_executor=gate,
        io_executor=InlineExecutor(),
    ).open()
    yield mgr
    gate.run_all()  # close waits for the job: let it finish
    mgr.close()


def fill(log: PartitionLog, clock: ManualClock, n: int, keys: int = 3) -> None:
    for i in range(n):
        log.append(build_batch([(b"k%d" % (i % keys), b"v%d" % i)], timestamp=clock.now_ms()))


def cleaned_files(log: PartitionLog) -> list[Path]:
    return sorted(log.directory.glob("*.cleaned"))


def test_tick_returns_during_cleaning_and_a_later_tick_swaps(
    gated: LogManager, gate: GatedExecutor, clock: ManualClock
) -> None:
    gated.create_topic("c", 1, COMPACT)
    log = gated.log("c", 0)
    fill(log, clock, 30)
    before = read_all(log)
    first = gated.tick()
    assert (first["cleaned"], first["cleaning"]) == (0, 1)
    assert len(gate.jobs) == 1
    # The log keeps serving while the job is pending: appends, reads, another tick.
    log.append(build_batch([(b"new", b"x")], timestamp=clock.now_ms()))
    assert read_all(log)[: len(before)] == before
    assert gated.tick()["cleaned"] == 0
    gate.run_all()
    assert cleaned_files(log), "the worker wrote the cleaned copies next to the originals"
    assert read_all(log)[: len(before)] == before, "nothing changes until the swap"
    assert gated.tick()["cleaned"] == 1
    assert cleaned_files(log) == []
    after = read_all(log)
    assert len(after) < len(before) + 1
    assert (after[-1].key, after[-1].offset) == (b"new", 30)
    latest = {r.key: r.offset for r in before}
    assert {r.key: r.offset for r in after if r.key != b"new"} == latest
    assert gated.cleaner_stats["installed"] == 1


@pytest.mark.parametrize("built_first", [False, True])
def test_retention_during_cleaning_abandons_the_swap_and_keeps_data(
    gated: LogManager, gate: GatedExecutor, clock: ManualClock, built_first: bool
) -> None:
    gated.create_topic("c", 1, {**COMPACT, "cleanup.policy": "compact,delete"})
    log = gated.log("c", 0)
    fill(log, clock, 30)
    assert gated.tick()["cleaning"] == 1
    if built_first:  # the worker finished; the swap is what must notice
        gate.run_all()
    # delete_records removes the first closed segment the job is cleaning.
    start = log.segments[1].base_offset
    log.delete_records(start)
    expected = read_all(log)
    gate.run_all()
    done = gated.tick()
    assert done["cleaned"] == 0
    assert gated.cleaner_stats["abandoned"] == 1
    assert cleaned_files(log) == []
    assert read_all(log) == expected
    assert log.log_start_offset == start
    # The same tick planned a fresh job over what is there now; it installs.
    assert done["cleaning"] == 1
    gate.run_all()
    assert gated.tick()["cleaned"] == 1
    assert read_all(log)[-1] == expected[-1]


def test_topic_deleted_and_recreated_during_cleaning(
    gated: LogManager, gate: GatedExecutor, clock: ManualClock
) -> None:
    gated.create_topic("c", 1, COMPACT)
    fill(gated.log("c", 0), clock, 30)
    assert gated.tick()["cleaning"] == 1
    gated.delete_topic("c")
    gated.create_topic("c", 1, COMPACT)
    fresh = gated.log("c", 0)
    fill(fresh, clock, 4)
    gate.run_all()
    assert gated.tick()["cleaned"] == 0
    assert gated.cleaner_stats["abandoned"] == 1
    assert [r.value for r in read_all(fresh)] == [b"v0", b"v1", b"v2", b"v3"]
    assert cleaned_files(fresh) == []


def test_close_cancels_a_throttled_cleaning(tmp_path: Path, clock: ManualClock) -> None:
    # One byte per second: the worker waits in its budget until close cancels it.
    mgr = LogManager(tmp_path, clock=clock, fsync="never", cleaner_io_max_bytes_per_second=1).open()
    mgr.create_topic("c", 1, COMPACT)
    log = mgr.log("c", 0)
    fill(log, clock, 30)
    expected = read_all(log)
    assert mgr.tick()["cleaning"] == 1
    assert not mgr.cleaner_idle(timeout=0.05)
    mgr.close()
    assert mgr.cleaner_stats["installed"] == 0
    assert list(tmp_path.glob("*/*.cleaned")) == []
    with LogManager(tmp_path, clock=clock, fsync="never") as again:
        assert read_all(again.log("c", 0)) == expected


def test_a_worker_thread_cleans_while_the_log_takes_appends(
    tmp_path: Path, clock: ManualClock
) -> None:
    with LogManager(tmp_path, clock=clock, fsync="never") as mgr:
        mgr.create_topic("c", 1, COMPACT)
        log = mgr.log("c", 0)
        fill(log, clock, 60)
        assert mgr.tick()["cleaning"] == 1
        fill(log, clock, 20)  # concurrently with the worker
        assert mgr.cleaner_idle(timeout=30)
        assert mgr.tick()["cleaned"] == 1
        records = read_all(log)
        assert records[-1].offset == 79
        assert {r.key for r in records} == {b"k0", b"k1", b"k2"}


def test_throttle_waits_to_keep_the_byte_rate() -> None:
    now = [0.0]
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        now[0] += seconds
        return False

    throttle = Throttle(1000, monotonic=lambda: now[0], wait=wait)
    assert throttle.consume(500) is False
    assert waits == [0.5]
    now[0] += 2.0  # idle time earns no waiting
    throttle.consume(100)
    assert waits == [0.5]
    throttle.consume(3000)
    assert waits[-1] == pytest.approx(3.6 - 2.5)
    assert Throttle(None, wait=wait).consume(10**9) is False
    stopper = Throttle(10, monotonic=lambda: 0.0, wait=lambda s: True)
    assert stopper.consume(100) is True


def test_a_failed_swap_takes_the_partition_offline_until_a_restart_rebuilds_it(
    tmp_path: Path, clock: ManualClock
) -> None:
    gate = GatedExecutor()
    mgr = LogManager(
        tmp_path, clock=clock, fsync="never", cleaner_executor=gate, io_executor=InlineExecutor()
    ).open()
    mgr.create_topic("c", 1, COMPACT)
    mgr.create_topic("other", 1)
    log = mgr.log("c", 0)
    fill(log, clock, 30)
    expected = read_all(log)
    assert mgr.tick()["cleaning"] == 1
    gate.run_all()
    # The .log rename succeeds, the .index one fails: files that disagree.
    victim = next(p for p in cleaned_files(log) if p.name.endswith(".index.cleaned"))
    victim.unlink()
    done = mgr.tick()  # does not raise
    assert done["cleaned"] == 0
    assert mgr.cleaner_stats["failed"] == 1
    with pytest.raises(KafkaStorageError):
        log.read(0, 100)
    mgr.log("other", 0).append(build_batch([(b"k", b"v")], timestamp=clock.now_ms()))
    mgr.close()
    assert list(tmp_path.glob("*/*.cleaned")) == []
    with LogManager(tmp_path, clock=clock, fsync="never") as again:
        healed = again.log("c", 0)
        assert healed.recovery_error is None
        records = read_all(healed)
        # Whatever was swapped is a valid compaction of what was there: the latest value
        # of every key survives at its offset, and nothing else appears.
        latest = {r.key: (r.offset, r.value) for r in expected}
        assert {r.key: (r.offset, r.value) for r in records} == latest
        assert {(r.offset, r.value) for r in records} <= {(r.offset, r.value) for r in expected}
