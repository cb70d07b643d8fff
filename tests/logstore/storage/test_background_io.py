"""File work tick hands to the io thread: unlinking retired segments after
file.delete.delay.ms, checkpoint writes, removing a deleted topic's directory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from logstore.clock import ManualClock
from logstore.records import build_batch
from logstore.storage import LogManager
from logstore.storage.background import InlineExecutor
from logstore.storage.checkpoints import RECOVERY_POINTS

from .helpers import GatedExecutor, read_all

SMALL = {"internal.segment.bytes": "300", "retention.ms": "1000"}


@pytest.fixture
def io_gate() -> GatedExecutor:
    return GatedExecutor()


@pytest.fixture
def gated(tmp_path: Path, clock: ManualClock, io_gate: GatedExecutor) -> Iterator[LogManager]:
    mgr = LogManager(
        tmp_path,
        clock=clock,
        fsync="always",
        cleaner_executor=InlineExecutor(),
        io_executor=io_gate,
        checkpoint_interval_ms=5000,
    ).open()
    yield mgr
    io_gate.run_all()
    mgr.close()


def fill(mgr: LogManager, clock: ManualClock, topic: str, n: int) -> None:
    log = mgr.log(topic, 0)
    for i in range(n):
        log.append(build_batch([(b"k", b"value-%d" % i)], timestamp=clock.now_ms()))


@pytest.mark.parametrize("delay", [0, 30000])
def test_retired_segments_are_renamed_then_unlinked_after_the_delay(
    manager: LogManager, clock: ManualClock, delay: int
) -> None:
    manager.create_topic("t", 1, {**SMALL, "file.delete.delay.ms": str(delay)})
    fill(manager, clock, "t", 20)
    log = manager.log("t", 0)
    old = [s.log_path for s in log.segments[:-1]]
    clock.advance(5000)
    assert manager.tick()["deleted_segments"] == len(old) + 1  # the rolled active one too
    assert not any(p.exists() for p in old)
    leftover = sorted(log.directory.glob("*.deleted"))
    if delay:
        assert {p.name for p in leftover} >= {p.name + ".deleted" for p in old}
        clock.advance(delay - 1)
        manager.tick()
        assert sorted(log.directory.glob("*.deleted")) == leftover
        clock.advance(1)
        manager.tick()
    assert list(log.directory.glob("*.deleted")) == []
    assert read_all(log) == []


def test_leftover_deleted_files_are_removed_on_open(tmp_path: Path, clock: ManualClock) -> None:
    with LogManager(tmp_path, clock=clock, fsync="never") as mgr:
        mgr.create_topic("t", 1, {**SMALL, "file.delete.delay.ms": "600000"})
        fill(mgr, clock, "t", 20)
        directory = mgr.log("t", 0).directory
        mgr.log("t", 0).delete_records(10)
    stray = directory / "00000000000000000000.log.deleted"
    stray.write_bytes(b"retired before a crash")
    with LogManager(tmp_path, clock=clock, fsync="never") as mgr:
        assert list(directory.glob("*.deleted")) == []
        assert mgr.log("t", 0).log_start_offset == 10


def test_checkpoint_is_written_off_the_loop_and_on_close(
    gated: LogManager, io_gate: GatedExecutor, clock: ManualClock, tmp_path: Path
) -> None:
    gated.create_topic("t", 1)
    fill(gated, clock, "t", 3)
    gated.sync_all()
    checkpoint = tmp_path / RECOVERY_POINTS
    before = checkpoint.read_bytes()
    clock.advance(5000)
    gated.tick()
    assert checkpoint.read_bytes() == before, "tick only queued the write"
    assert len(io_gate.jobs) == 1
    io_gate.run_all()
    assert json.loads(checkpoint.read_text()) == {"t": {"0": 3}}
    fill(gated, clock, "t", 2)
    io_gate.run_all()
    gated.close()
    assert json.loads(checkpoint.read_text()) == {"t": {"0": 5}}


def test_deleted_topic_directory_is_removed_by_the_io_thread(
    gated: LogManager, io_gate: GatedExecutor, clock: ManualClock, tmp_path: Path
) -> None:
    gated.create_topic("t", 2)
    fill(gated, clock, "t", 5)
    gated.delete_topic("t")
    doomed = sorted(tmp_path.glob("t-*-delete"))
    assert len(doomed) == 2
    assert not (tmp_path / "t-0").exists()
    gated.create_topic("t", 1)  # the name is free at once
    fill(gated, clock, "t", 1)
    io_gate.run_all()
    assert list(tmp_path.glob("t-*-delete")) == []
    assert [r.value for r in read_all(gated.log("t", 0))] == [b"value-0"]


def test_leftovers_under_a_new_topic_s_name_are_moved_aside_then_removed(
    gated: LogManager, io_gate: GatedExecutor, clock: ManualClock
) -> None:
    """A directory already under the new partition's name (kept at open because it held
    something other than segments) is renamed aside at once and removed on the io thread,
    not on the caller's: it may be large."""
    stray = gated.data_dir / "t-0"
    stray.mkdir()
    (stray / "notes.txt").write_text("not a segment")
    gated.create_topic("t", 1)
    assert [p.name for p in stray.iterdir()] == ["00000000000000000000.log"]
    aside = [p for p in gated.data_dir.iterdir() if p.name.endswith("-delete")]
    assert [p.name.startswith("t-0.") for p in aside] == [True]
    assert (aside[0] / "notes.txt").exists()
    io_gate.run_all()
    assert not aside[0].exists()
    fill(gated, clock, "t", 3)
    assert len(read_all(gated.log("t", 0))) == 3
