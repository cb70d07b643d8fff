"""The storage's open files are bounded by its descriptor cache, not by the partition count.

Active segments share the cache with closed ones: an evicted active segment is reopened on
its next append, fsyncs open their files by path, and read slices beyond their share copy
their bytes instead of holding a descriptor. Nothing written is lost on the way.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

from logstore.clock import ManualClock
from logstore.records import build_batch, validate_batch
from logstore.storage import LogManager
from logstore.storage.cleaner import clean_log
from logstore.storage.files import HandleCache, fsync_paths

from .helpers import batch, read_all

PARTITIONS = 40


def _open_files_under(directory: Path) -> int:
    """Descriptors of this process pointing into `directory`."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        count += target.startswith(str(directory))
    return count


async def test_active_segments_share_the_bounded_cache(tmp_path: Path, clock: ManualClock) -> None:
    data = tmp_path / "data"
    mgr = LogManager(data, clock=clock, fsync="always", max_open_files=4).open()
    mgr.create_topic("wide", PARTITIONS, {"internal.segment.bytes": str(len(batch(1)) * 3)})
    for round_ in range(5):  # round-robin: every append finds its file evicted
        for p in range(PARTITIONS):
            log = mgr.log("wide", p)
            result = log.append(batch(1, tag=f"{p}-{round_}-"))
            await mgr.wait_durable(log, result.last_offset)  # group commit, fsync by path
            assert len(mgr._handles) <= 4
            assert _open_files_under(data) <= 4 + 1  # the cache and the data-dir lock
    assert mgr._handles.opened > PARTITIONS * 5  # reopened on demand, not kept open
    for p in range(PARTITIONS):
        log = mgr.log("wide", p)
        assert log.flushed_offset == log.log_end_offset == 5
        assert len(log.segments) == 2  # rolled once: the rolled file was fsynced by path
        values = [r.value for r in read_all(log)]
        assert values == [f"{p}-{r}-0".encode().ljust(20, b".") for r in range(5)]
    mgr.close()
    assert _open_files_under(data) == 0

    reopened = LogManager(data, clock=clock, fsync="always", max_open_files=4).open()
    try:
        assert len(reopened._handles) <= 4
        for p in range(PARTITIONS):
            log = reopened.log("wide", p)
            assert [r.offset for r in read_all(log)] == [0, 1, 2, 3, 4]
            assert log.append(batch(1)).base_offset == 5
    finally:
        reopened.close()


def test_read_slices_past_their_share_copy_their_bytes(tmp_path: Path, clock: ManualClock) -> None:
    mgr = LogManager(tmp_path, clock=clock, fsync="never", max_read_slices=2).open()
    try:
        mgr.create_topic("t", 5)
        for p in range(5):
            mgr.log("t", p).append(batch(2, tag=str(p)))
        pieces = [mgr.log("t", p).read(0, 1 << 20) for p in range(5)]
        assert mgr._handles.slices == 2
        sendable = [piece for piece in pieces if piece.file is not None]
        assert len(sendable) == 2  # the rest hold bytes, no descriptor
        for piece in pieces:
            assert validate_batch(piece.to_bytes()).records_count == 2
            assert piece.size == len(piece.to_bytes())
            into = bytearray(piece.size)
            piece.read_into(memoryview(into))  # both kinds: descriptor and held bytes
            assert bytes(into) == piece.to_bytes()
        for piece in pieces:
            piece.close()
        assert mgr._handles.slices == 0
        assert all(piece.to_bytes() == b"" for piece in pieces)
        again = mgr.log("t", 0).read(0, 1 << 20)
        assert again.fileno() >= 0  # the share is free again
        again.close()
    finally:
        mgr.close()


def test_fsync_by_path_skips_files_retired_meanwhile(tmp_path: Path) -> None:
    kept = tmp_path / "kept.log"
    kept.write_bytes(b"x")
    fsync_paths([tmp_path / "gone.log", kept, tmp_path])  # no error for the missing one


def test_the_cache_never_holds_more_than_its_capacity(tmp_path: Path) -> None:
    cache = HandleCache(capacity=3)
    paths = [tmp_path / f"{i}.log" for i in range(6)]
    for path in paths:
        cache.open_new(path)
    assert len(cache) == 3
    fd = cache.get(paths[0], writable=True)  # evicted long ago: reopened read-write
    os.pwrite(fd, b"abc", 0)
    assert paths[0].read_bytes() == b"abc"
    assert len(cache) == 3
    cache.clear()
    assert len(cache) == 0


def test_compacting_many_segments_holds_one_file_at_a_time(
    manager: LogManager, clock: ManualClock
) -> None:
    manager.create_topic(
        "c",
        1,
        {
            "cleanup.policy": "compact",
            "internal.segment.bytes": "300",
            "min.cleanable.dirty.ratio": "0.01",
        },
    )
    log = manager.log("c", 0)
    for i in range(600):  # 150 segments of 4 batches each
        log.append(build_batch([(b"k%d" % (i % 7), b"v%d" % i)], timestamp=clock.now_ms()))
    assert len(log.segments) == 150
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    in_use = len(os.listdir("/proc/self/fd"))
    # Far fewer descriptors than segments: a job opening them all at once would fail.
    resource.setrlimit(resource.RLIMIT_NOFILE, (in_use + 40, hard))
    try:
        result = clean_log(log, clock.now_ms(), force=True)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert result is not None
    assert result.segments == 149  # every closed segment
    latest = {r.key: r.value for r in read_all(log)}
    assert latest == {
        b"k%d" % k: b"v%d" % max(i for i in range(600) if i % 7 == k) for k in range(7)
    }
