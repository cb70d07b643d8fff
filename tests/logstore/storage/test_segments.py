"""Scenario tables with tiny segments: rolls, indexes, reads across segments, bounded memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from logstore.clock import ManualClock
from logstore.records import split_batches, validate_batch
from logstore.storage import LogManager

from .helpers import batch, read_all

BATCH = len(batch(1))


@pytest.mark.parametrize(
    ("segment_bytes", "batches", "expected_segments"),
    [
        (BATCH, 5, 5),  # one batch per segment
        (BATCH * 2, 5, 3),
        (BATCH * 2 + 1, 6, 3),
        (BATCH * 100, 5, 1),
        (61, 3, 3),  # smaller than a batch: each batch still lands somewhere
    ],
)
def test_roll_on_segment_bytes(
    manager: LogManager, segment_bytes: int, batches: int, expected_segments: int
) -> None:
    manager.create_topic("t", 1, {"internal.segment.bytes": str(segment_bytes)})
    log = manager.log("t", 0)
    for _ in range(batches):
        log.append(batch(1))
    assert len(log.segments) == expected_segments
    names = sorted(p.name for p in log.directory.glob("*.log"))
    assert names == [f"{s.base_offset:020d}.log" for s in log.segments]
    assert [r.offset for r in read_all(log)] == list(range(batches))


def test_roll_on_segment_ms(manager: LogManager, clock: ManualClock) -> None:
    manager.create_topic("t", 1, {"segment.ms": "1000", "retention.ms": "-1"})
    log = manager.log("t", 0)
    log.append(batch(1))
    clock.advance(999)
    log.append(batch(1))
    assert len(log.segments) == 1
    clock.advance(1)
    log.append(batch(1))
    assert [s.base_offset for s in log.segments] == [0, 2]
    clock.advance(1000)
    assert manager.tick()["rolled"] == 1
    assert [s.base_offset for s in log.segments] == [0, 2, 3]
    assert manager.tick()["rolled"] == 0  # an empty active segment never rolls


def test_sparse_index_entries_and_reads_from_every_offset(manager: LogManager) -> None:
    manager.create_topic("t", 1, {"index.interval.bytes": "200", "internal.segment.bytes": "3000"})
    log = manager.log("t", 0)
    for i in range(60):
        log.append(batch(1 + i % 3, tag=str(i)))
    end = log.log_end_offset
    assert len(log.segments) > 2
    assert any(len(s.index) > 0 for s in log.segments)
    for offset in range(end):
        views = split_batches(log.read_batches(offset, 150))
        assert views, offset
        first = validate_batch(views[0])
        assert first.base_offset <= offset <= first.last_offset


@pytest.mark.parametrize("max_bytes", [1, 100, 500, 2000, 1 << 20])
def test_reads_stay_within_max_bytes_unless_one_batch(manager: LogManager, max_bytes: int) -> None:
    manager.create_topic("t", 1, {"index.interval.bytes": "100"})
    log = manager.log("t", 0)
    for _ in range(40):
        log.append(batch(2))
    with log.read(0, max_bytes) as piece:
        data = piece.to_bytes()
    views = split_batches(data)
    assert len(views) >= 1
    assert len(data) <= max(max_bytes, len(views[0]))
    if max_bytes >= log.size_bytes:
        assert len(data) == log.size_bytes


def test_read_slice_survives_segment_deletion(manager: LogManager, clock: ManualClock) -> None:
    manager.create_topic("t", 1, {"internal.segment.bytes": str(BATCH), "retention.ms": "1000"})
    log = manager.log("t", 0)
    for _ in range(3):
        log.append(batch(1, ts=clock.now_ms()))
    piece = log.read(0, 1 << 20)
    clock.advance(5000)
    assert manager.tick()["deleted_segments"] == 3
    assert not (log.directory / f"{0:020d}.log").exists()
    assert validate_batch(piece.to_bytes()).base_offset == 0
    piece.close()
    assert piece.to_bytes() == b""  # closed: the descriptor is released


def test_bounded_handles_with_many_partitions(tmp_path: Path, clock: ManualClock) -> None:
    mgr = LogManager(tmp_path, clock=clock, fsync="never", max_open_files=8, max_loaded_indexes=8)
    with mgr:
        mgr.create_topic("many", 40, {"internal.segment.bytes": str(BATCH * 2)})
        for p in range(40):
            for _ in range(5):
                mgr.log("many", p).append(batch(1))
        for p in range(40):
            assert [r.offset for r in read_all(mgr.log("many", p))] == [0, 1, 2, 3, 4]
        assert len(mgr._handles) <= 8
        assert len(mgr._lru) <= 8
        loaded = sum(s.index.loaded for p in range(40) for s in mgr.log("many", p).segments[:-1])
        assert loaded <= 8


@pytest.mark.parametrize("max_bytes", [1, 300, 1000, 1 << 20])
def test_read_slice_reports_where_the_next_read_starts(manager: LogManager, max_bytes: int) -> None:
    manager.create_topic("t", 1, {"index.interval.bytes": "100", "internal.segment.bytes": "2000"})
    log = manager.log("t", 0)
    for _ in range(30):
        log.append(batch(2))
    offset, seen = 0, []
    while offset < log.log_end_offset:
        with log.read(offset, max_bytes) as piece:
            views = split_batches(piece.to_bytes())
            assert piece.next_offset == validate_batch(views[-1]).last_offset + 1
            seen.extend(validate_batch(v).base_offset for v in views)
            offset = piece.next_offset
    assert seen == list(range(0, 60, 2))


@pytest.mark.parametrize("interval", ["0", "100", "4096"])
@pytest.mark.parametrize("max_bytes", [250, 1000, 3000])
def test_reads_fill_max_bytes_with_whole_batches(
    manager: LogManager, interval: str, max_bytes: int
) -> None:
    manager.create_topic("t", 1, {"index.interval.bytes": interval})
    log = manager.log("t", 0)
    for i in range(60):
        log.append(batch(1 + i % 4))
    for offset in (0, 7, 30):
        with log.read(offset, max_bytes) as piece:
            size, next_offset = piece.size, piece.next_offset
        following = log.read_batches(next_offset, 1)  # the batch that did not fit
        assert size <= max_bytes
        assert size + len(following) > max_bytes
