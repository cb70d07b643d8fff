"""Recovery after unclean stops: torn tails truncated, damage below the recovery point
reported for that partition only, missing or bad indexes rebuilt."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from logstore.clock import ManualClock
from logstore.storage import KafkaStorageError, LogManager
from logstore.storage.checkpoints import CLEAN_SHUTDOWN, RECOVERY_POINTS, write_offsets

from .helpers import batch, read_all

BATCH = len(batch(1))


def fill(tmp_path: Path, clock: ManualClock, batches: int = 6, per_segment: int = 2) -> None:
    with LogManager(tmp_path, clock=clock) as mgr:
        mgr.create_topic("t", 2, {"internal.segment.bytes": str(BATCH * per_segment)})
        for i in range(batches):
            mgr.log("t", 0).append(batch(1, ts=1000 + i))
            mgr.log("t", 1).append(batch(1, ts=1000 + i))


def crash(tmp_path: Path, recovery_point: int | None) -> None:
    """Turn the clean stop into an unclean one with the given recovery point for t-0."""
    (tmp_path / CLEAN_SHUTDOWN).unlink()
    if recovery_point is not None:
        write_offsets(tmp_path / RECOVERY_POINTS, [("t", 0, recovery_point), ("t", 1, 0)])


def segment_file(tmp_path: Path, base: int, ext: str = "log") -> Path:
    return tmp_path / "t-0" / f"{base:020d}.{ext}"


def flip(path: Path, position: int) -> None:
    data = bytearray(path.read_bytes())
    data[position] ^= 0x55
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "recovery_point", "expected_end", "expected_segments"),
    [
        # a torn write: the last batch is cut short
        (lambda p: os.truncate(segment_file(p, 4), BATCH + 7), 0, 5, 3),
        # only a few bytes of the last header made it
        (lambda p: os.truncate(segment_file(p, 4), BATCH + 20), 4, 5, 3),
        # zeroes after a power loss (blocks allocated, data never written)
        (lambda p: segment_file(p, 4).open("ab").write(b"\0" * 300), 6, 6, 3),
        # a flipped byte past the recovery point: truncate there, drop later segments
        (lambda p: flip(segment_file(p, 2), BATCH + 30), 3, 3, 2),
        (lambda p: flip(segment_file(p, 0), 40), 0, 0, 1),
    ],
)
def test_damage_past_the_recovery_point_is_truncated(
    tmp_path: Path,
    clock: ManualClock,
    damage,
    recovery_point: int,
    expected_end: int,
    expected_segments: int,
) -> None:
    fill(tmp_path, clock)
    damage(tmp_path)
    crash(tmp_path, recovery_point)
    with LogManager(tmp_path, clock=clock) as mgr:
        log = mgr.log("t", 0)
        assert log.recovery.error is None
        assert log.recovery_error is None
        assert log.log_end_offset == expected_end
        assert len(log.segments) == expected_segments
        assert [r.offset for r in read_all(log)] == list(range(expected_end))
        assert log.append(batch(1)).base_offset == expected_end
        assert mgr.log("t", 1).log_end_offset == 6
    with LogManager(tmp_path, clock=clock) as mgr:
        assert mgr.log("t", 0).log_end_offset == expected_end + 1


def test_damage_below_the_recovery_point_is_reported_not_served(
    tmp_path: Path, clock: ManualClock
) -> None:
    fill(tmp_path, clock)
    flip(segment_file(tmp_path, 2), 40)
    crash(tmp_path, 6)
    with LogManager(tmp_path, clock=clock) as mgr:
        log = mgr.log("t", 0)
        assert log.recovery_error is not None
        assert "recovery point" in log.recovery_error
        for action in (
            lambda: log.read(0, 100),
            lambda: log.append(batch(1)),
            lambda: log.offset_for_timestamp(0),
        ):
            with pytest.raises(KafkaStorageError) as info:
                action()
            assert info.value.code == 56
        # The rest of the broker carries on.
        assert [r.offset for r in read_all(mgr.log("t", 1))] == list(range(6))
        assert mgr.log("t", 1).append(batch(1)).base_offset == 6
    # Nothing was truncated: the damaged bytes are still there for an operator to inspect.
    assert segment_file(tmp_path, 4).exists()
    # A later start, even after an orderly stop, still reports the damage.
    with LogManager(tmp_path, clock=clock) as mgr:
        assert mgr.log("t", 0).recovery_error is not None
        with pytest.raises(KafkaStorageError):
            mgr.log("t", 0).read(0, 100)
        assert mgr.log("t", 1).log_end_offset == 7


@pytest.mark.parametrize("ext", ["index", "timeindex"])
@pytest.mark.parametrize("clean", [True, False])
def test_missing_index_is_rebuilt(
    tmp_path: Path, clock: ManualClock, ext: str, clean: bool
) -> None:
    with LogManager(tmp_path, clock=clock) as mgr:
        mgr.create_topic("t", 1, {"index.interval.bytes": "100", "internal.segment.bytes": "4000"})
        for i in range(60):
            mgr.log("t", 0).append(batch(1, ts=1000 + i))
    original = segment_file(tmp_path, 0, ext).read_bytes()
    assert original
    segment_file(tmp_path, 0, ext).unlink()
    if not clean:
        crash(tmp_path, None)
    with LogManager(tmp_path, clock=clock) as mgr:
        log = mgr.log("t", 0)
        assert log.recovery.scanned_segments >= 1
        assert [r.offset for r in read_all(log)] == list(range(60))
        assert log.offset_for_timestamp(1030) == (30, 1030)
        assert log.max_timestamp() == (59, 1059)
    assert segment_file(tmp_path, 0, ext).read_bytes() == original


def test_index_pointing_past_the_file_is_not_trusted(tmp_path: Path, clock: ManualClock) -> None:
    with LogManager(tmp_path, clock=clock) as mgr:
        mgr.create_topic("t", 1, {"index.interval.bytes": "100"})
        for i in range(20):
            mgr.log("t", 0).append(batch(1, ts=i))
    index = segment_file(tmp_path, 0, "index")
    index.write_bytes(index.read_bytes() + (5).to_bytes(4, "big") + (10**6).to_bytes(4, "big"))
    with LogManager(tmp_path, clock=clock) as mgr:
        log = mgr.log("t", 0)
        assert log.recovery.scanned_segments == 1
        assert [r.offset for r in read_all(log)] == list(range(20))


def test_unclean_stop_without_damage_loses_nothing(tmp_path: Path, clock: ManualClock) -> None:
    fill(tmp_path, clock)
    crash(tmp_path, None)
    with LogManager(tmp_path, clock=clock) as mgr:
        log = mgr.log("t", 0)
        assert log.recovery.scanned_segments == 3
        assert log.recovery.truncated_bytes == 0
        assert [r.offset for r in read_all(log)] == list(range(6))
        assert not (tmp_path / CLEAN_SHUTDOWN).exists()
    assert (tmp_path / CLEAN_SHUTDOWN).exists()


def _entries(fmt: str, data: bytes) -> list[tuple[int, ...]]:
    import struct

    size = struct.calcsize(fmt)
    return [struct.unpack_from(fmt, data, i) for i in range(0, len(data), size)]


def _pack(fmt: str, entries: list[tuple[int, ...]]) -> bytes:
    import struct

    return b"".join(struct.pack(fmt, *e) for e in entries)


def _swap_two(fmt: str, data: bytes) -> bytes:
    entries = _entries(fmt, data)
    entries[1], entries[2] = entries[2], entries[1]
    return _pack(fmt, entries)


def _repeat_last(fmt: str, data: bytes) -> bytes:
    entries = _entries(fmt, data)
    return _pack(fmt, [*entries, entries[-1]])


def _last_offset_beyond(fmt: str, data: bytes) -> bytes:
    entries = _entries(fmt, data)
    *head, last = entries
    bumped = (last[0], last[1] + 1000) if fmt == ">qI" else (last[0] + 1000, last[1])
    return _pack(fmt, [*head, bumped])


def _last_entry_off_by_one(fmt: str, data: bytes) -> bytes:
    """Still monotonic and inside the file, but not the batch the entry names."""
    entries = _entries(fmt, data)
    *head, last = entries
    return _pack(fmt, [*head, (last[0] - 1, last[1])])


@pytest.mark.parametrize(
    ("ext", "damage"),
    [
        ("index", lambda fmt, d: d + b"\x00\x01\x02"),  # length not a multiple of 8
        ("timeindex", lambda fmt, d: d[:-5]),  # ... of 12
        ("index", _swap_two),  # entries out of order
        ("timeindex", _swap_two),
        ("index", _repeat_last),  # not strictly increasing
        ("timeindex", _repeat_last),
        ("index", _last_offset_beyond),  # last entry past the segment's end
        ("timeindex", _last_offset_beyond),
        ("index", _last_entry_off_by_one),
    ],
)
def test_damaged_index_after_a_clean_stop_is_rebuilt(
    tmp_path: Path, clock: ManualClock, ext: str, damage
) -> None:
    with LogManager(tmp_path, clock=clock) as mgr:
        mgr.create_topic("t", 1, {"index.interval.bytes": "100", "internal.segment.bytes": "4000"})
        for i in range(60):
            mgr.log("t", 0).append(batch(1, ts=1000 + i))
    assert (tmp_path / CLEAN_SHUTDOWN).exists()
    path = segment_file(tmp_path, 0, ext)
    original = path.read_bytes()
    fmt = ">II" if ext == "index" else ">qI"
    assert len(_entries(fmt, original)) > 3
    path.write_bytes(damage(fmt, original))
    with LogManager(tmp_path, clock=clock) as mgr:
        log = mgr.log("t", 0)
        assert log.recovery.scanned_segments == 1
        assert log.recovery_error is None
        assert [r.offset for r in read_all(log)] == list(range(60))
        for offset in (0, 17, 31, 45):
            assert read_all(log, offset)[0].offset == offset
        assert log.offset_for_timestamp(1030) == (30, 1030)
    assert path.read_bytes() == original, "rebuilt exactly as appends wrote it"
