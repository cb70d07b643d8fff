"""Compaction: latest value per key, tombstones, offsets unchanged, crash safety."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logstore.clock import ManualClock
from logstore.records import ZSTD, build_batch, parse_header
from logstore.storage import LogManager
from logstore.storage.cleaner import clean_log

from .conftest import open_inline
from .helpers import read_all

COMPACT = {
    "cleanup.policy": "compact",
    "internal.segment.bytes": "300",
    "min.cleanable.dirty.ratio": "0.01",
}


def put(log, key: bytes, value: bytes | None, ts: int, codec: int = 0) -> int:
    return log.append(build_batch([(key, value)], timestamp=ts, codec=codec)).base_offset


@pytest.mark.parametrize("codec", [0, ZSTD])
def test_keeps_latest_value_per_key(manager: LogManager, clock: ManualClock, codec: int) -> None:
    manager.create_topic("c", 1, COMPACT)
    log = manager.log("c", 0)
    latest: dict[bytes, tuple[int, bytes]] = {}
    for i in range(40):
        key = b"k%d" % (i % 5)
        offset = put(log, key, b"v%d" % i, clock.now_ms(), codec)
        latest[key] = (offset, b"v%d" % i)
    active_base = log.active.base_offset
    assert manager.tick()["cleaned"] == 1
    records = read_all(log)
    closed = [r for r in records if r.offset < active_base]
    keys = [r.key for r in closed]
    assert len(keys) == len(set(keys)), "one record per key in the cleaned part"
    for r in closed:
        assert latest[r.key][0] >= r.offset
    # The newest value of every key is still readable, at its original offset.
    seen = {r.offset: r.value for r in records}
    for offset, value in latest.values():
        assert seen[offset] == value
    assert log.log_end_offset == 40
    # Clean again: nothing new is dirty, so nothing happens.
    assert manager.tick()["cleaned"] == 0


def test_multi_record_batches_keep_their_offsets(manager: LogManager, clock: ManualClock) -> None:
    manager.create_topic("c", 1, COMPACT)
    log = manager.log("c", 0)
    log.append(build_batch([(b"a", b"1"), (b"b", b"1"), (b"c", b"1")], timestamp=1))
    log.append(build_batch([(b"b", b"2")], timestamp=1))
    for i in range(10):
        log.append(build_batch([(b"z%d" % i, b"x" * 40)], timestamp=1))
    assert clean_log(log, clock.now_ms(), force=True) is not None
    records = read_all(log)
    assert [(r.offset, r.key, r.value) for r in records[:3]] == [
        (0, b"a", b"1"),
        (2, b"c", b"1"),
        (3, b"b", b"2"),
    ]
    assert read_all(log, 1)[0].offset == 2  # reading a removed offset gives the next one


def test_tombstones_expire_after_delete_retention(manager: LogManager, clock: ManualClock) -> None:
    manager.create_topic("c", 1, {**COMPACT, "delete.retention.ms": "1000"})
    log = manager.log("c", 0)
    put(log, b"gone", b"v", clock.now_ms())
    put(log, b"gone", None, clock.now_ms())
    for i in range(8):
        put(log, b"filler%d" % i, b"x" * 40, clock.now_ms())
    clean_log(log, clock.now_ms(), force=True)
    assert [(r.key, r.value) for r in read_all(log) if r.key == b"gone"] == [(b"gone", None)]
    clock.advance(2000)
    clean_log(log, clock.now_ms(), force=True)
    assert [r for r in read_all(log) if r.key == b"gone"] == []


@pytest.mark.parametrize("codec", [0, ZSTD])
def test_a_tombstone_waits_delete_retention_from_the_first_pass_that_keeps_it(
    tmp_path: Path, clock: ManualClock, codec: int
) -> None:
    manager = open_inline(tmp_path / "data", clock)
    manager.create_topic("c", 1, {**COMPACT, "delete.retention.ms": "1000"})
    log = manager.log("c", 0)
    clock.advance(10**9)
    put(log, b"gone", None, 5, codec)  # written long before delete.retention.ms
    put(log, b"kept", b"v", 6, codec)
    for i in range(8):
        put(log, b"filler%d" % i, b"x" * 40, clock.now_ms())
    start = clock.now_ms()
    clean_log(log, start, force=True)
    # As in Kafka, the wait starts at the first pass, not at the record's timestamp.
    assert [(r.key, r.value, r.timestamp) for r in read_all(log)][:2] == [
        (b"gone", None, 5),
        (b"kept", b"v", 6),
    ]
    first = parse_header(log.read_batches(0, 1 << 20))
    assert (first.delete_horizon_ms, first.compression) == (start + 1000, codec)
    clock.advance(999)
    clean_log(log, clock.now_ms(), force=True)
    assert read_all(log)[0].key == b"gone"
    manager.close()  # the horizon is in the batch header: a restart keeps it
    manager = open_inline(tmp_path / "data", clock)
    log = manager.log("c", 0)
    clock.advance(1)
    clean_log(log, clock.now_ms(), force=True)
    assert [r.key for r in read_all(log)][:1] == [b"kept"]
    manager.close()


def test_active_segment_and_young_segments_are_untouched(
    manager: LogManager, clock: ManualClock
) -> None:
    manager.create_topic("c", 1, {**COMPACT, "min.compaction.lag.ms": "10000"})
    log = manager.log("c", 0)
    for _ in range(10):
        put(log, b"same", b"x" * 40, clock.now_ms())
    assert clean_log(log, clock.now_ms(), force=True) is None
    assert len(read_all(log)) == 10
    clock.advance(20000)
    assert clean_log(log, clock.now_ms(), force=True) is not None
    records = read_all(log)
    active = log.active.base_offset
    # Only the newest closed copy survives; copies in the active segment are untouched.
    assert [r.offset for r in records] == [active - 1, *range(active, 10)]


def test_max_compaction_lag_forces_cleaning_below_the_dirty_ratio(
    manager: LogManager, clock: ManualClock
) -> None:
    configs = {**COMPACT, "min.cleanable.dirty.ratio": "0.99", "max.compaction.lag.ms": "5000"}
    manager.create_topic("c", 1, configs)
    log = manager.log("c", 0)
    for _ in range(10):
        put(log, b"same", b"x" * 40, clock.now_ms())
    assert clean_log(log, clock.now_ms(), force=True) is not None  # all clean now
    for _ in range(10):
        put(log, b"same", b"y" * 40, clock.now_ms())
    assert manager.tick()["cleaned"] == 0  # a small dirty share, and not overdue yet
    clock.advance(5000)
    assert manager.tick()["cleaned"] == 1


def test_compaction_survives_restart_and_stray_files(tmp_path: Path, clock: ManualClock) -> None:
    with LogManager(tmp_path, clock=clock) as mgr:
        mgr.create_topic("c", 1, COMPACT)
        log = mgr.log("c", 0)
        for i in range(20):
            put(log, b"k%d" % (i % 3), b"v%d" % i, clock.now_ms())
        clean_log(log, clock.now_ms(), force=True)
        before = [(r.offset, r.value) for r in read_all(log)]
        stray = log.directory / f"{log.segments[0].base_offset:020d}.log.cleaned"
    stray.write_bytes(b"half-written garbage")
    (tmp_path / ".clean-shutdown").unlink()  # and make it an unclean restart
    with LogManager(tmp_path, clock=clock) as mgr:
        log = mgr.log("c", 0)
        assert log.recovery.error is None
        assert not stray.exists()
        assert [(r.offset, r.value) for r in read_all(log)] == before


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([b"a", b"b", b"c", b"d"]), st.none() | st.binary(max_size=30)),
        min_size=1,
        max_size=40,
    ),
    st.booleans(),
)
def test_compaction_never_changes_what_the_latest_value_is(
    tmp_path_factory: pytest.TempPathFactory, puts, tombstones_expired: bool
) -> None:
    clock = ManualClock()
    with LogManager(tmp_path_factory.mktemp("c"), clock=clock, fsync="never") as mgr:
        mgr.create_topic("c", 1, {**COMPACT, "internal.segment.bytes": "200"})
        log = mgr.log("c", 0)
        model: dict[int, tuple[bytes, bytes | None]] = {}
        for key, value in puts:
            model[put(log, key, value, clock.now_ms())] = (key, value)
        clean_log(log, clock.now_ms(), force=True)
        if tombstones_expired:  # a second pass past the first one's delete horizon
            clock.advance(10**9)
            clean_log(log, clock.now_ms(), force=True)
        records = read_all(log)
        offsets = [r.offset for r in records]
        assert offsets == sorted(set(offsets))
        for r in records:
            assert model[r.offset] == (r.key, r.value)
        last = {key: (offset, value) for offset, (key, value) in sorted(model.items())}
        survivors = {r.key: (r.offset, r.value) for r in records}
        for key, (offset, value) in last.items():
            if value is None and tombstones_expired and offset < log.active.base_offset:
                assert key not in survivors
            else:
                assert survivors[key] == (offset, value)
        assert log.log_end_offset == len(puts)
