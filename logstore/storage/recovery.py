"""Opening a partition's segments, trusting them after a clean stop, scanning them after
an unclean one.

After a clean shutdown each segment's summary comes from its indexes plus a short header
walk; a segment whose indexes are missing or inconsistent is scanned instead. After an
unclean stop every segment is scanned batch by batch (length, magic 2, CRC-32C, base
offset in sequence) and its indexes rebuilt. Damage at or past the recovery point is a
torn write: the segment is cut at the first invalid byte and later segments are deleted.
Damage below the recovery point means acknowledged data is bad: nothing is truncated, and
the partition reports the error instead of serving it.

Every decision an operator must know about is logged once, here: each truncation at
WARNING (partition, offset of the cut, bytes dropped, why), each partition left offline at
ERROR (why, and that its files are kept as they are).

Owns those decisions. It must never raise for damaged data (the broker must start) and
never touch another partition's files.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from logstore.records.header import BatchHeader
from logstore.storage.segment import Segment

log = logging.getLogger(__name__)

_MAX_RELATIVE = 2**31 - 1  # relative offsets in .index entries are 32-bit


@dataclass(frozen=True)
class RecoveryResult:
    """What opening the partition found: clean load, or a scan that truncated or failed."""

    scanned_segments: int = 0
    truncated_bytes: int = 0
    deleted_segments: int = 0
    error: str | None = None
    truncated_at: int = -1  # the first offset dropped by a truncation, -1 if none
    reason: str = ""  # why the scan stopped (the truncation's or the error's cause)


def open_segments(
    directory: Path,
    make_segment: Callable[[int], Segment],
    *,
    clean: bool,
    recovery_point: int,
    interval: int,
    name: str = "",
) -> tuple[list[Segment], RecoveryResult]:
    """The directory's segments in offset order, loaded or recovered; `name` (the
    topic-partition) labels what is logged."""
    segments, result = _open(directory, make_segment, clean, recovery_point, interval)
    report(name or directory.name, result, recovery_point)
    return segments, result


def report(name: str, result: RecoveryResult, recovery_point: int) -> None:
    """Log what recovery did to `name` that an operator must hear about."""
    if result.truncated_bytes:
        log.warning(
            "partition %s: truncated at offset %d, %d bytes dropped (%d later segments "
            "deleted): %s",
            name, result.truncated_at, result.truncated_bytes, result.deleted_segments,
            result.reason,
        )  # fmt: skip
    if result.error is not None:
        report_offline(name, f"{result.error} (recovery point {recovery_point})")


def report_offline(name: str, reason: str) -> None:
    """Log that `name` stops being served, at start or while running."""
    log.error(
        "partition %s is offline: %s; Metadata shows it without a leader, requests for it "
        "are answered KAFKA_STORAGE_ERROR (56), and its files are left as they are",
        name, reason,
    )  # fmt: skip


def _open(
    directory: Path,
    make_segment: Callable[[int], Segment],
    clean: bool,
    recovery_point: int,
    interval: int,
) -> tuple[list[Segment], RecoveryResult]:
    for stray in directory.glob("*.cleaned"):  # a cleaner run that never reached its rename
        stray.unlink()
    for retired in directory.glob("*.deleted"):  # past retention, not yet unlinked at the stop
        retired.unlink()
    bases = sorted(int(p.stem) for p in directory.glob("*.log") if p.stem.isdigit())
    segments = [make_segment(b) for b in bases]
    if not clean:
        result = scan_segments(segments, recovery_point, interval)
        return [s for s in segments if s.log_path.exists()], result
    scanned = 0
    for i, segment in enumerate(segments):
        if segment.load_trusted(interval):
            continue
        scanned += 1
        # Everything was flushed at the clean stop, so any damage here is below the
        # recovery point and is reported, except a torn tail of the very last segment.
        point = recovery_point if i == len(segments) - 1 else segment.base_offset + 2**62
        partial = scan_segments([segment], point, interval)
        if partial.error or partial.truncated_bytes:
            return [s for s in segments if s.log_path.exists()], RecoveryResult(
                scanned,
                partial.truncated_bytes,
                partial.deleted_segments,
                partial.error,
                partial.truncated_at,
                partial.reason,
            )
    return segments, RecoveryResult(scanned)


def scan_segments(segments: list[Segment], recovery_point: int, interval: int) -> RecoveryResult:
    """Validate every batch of `segments` (in order), rebuilding summaries and indexes."""
    scanned = truncated = deleted = 0
    cut_at = -1
    reason = ""
    for i, segment in enumerate(segments):
        scanned += 1
        segment.reset_summary()
        segment.index.reset()
        segment.timeindex.reset()
        fd = os.open(segment.log_path, os.O_RDWR)
        try:
            bad_pos: int | None = None
            limit = segments[i + 1].base_offset if i + 1 < len(segments) else _NO_LIMIT
            for pos, header, problem in segment.scan(fd):
                if header is not None:
                    problem = _out_of_sequence(header, segment, limit, pos)
                if header is None or problem:
                    bad_pos, reason = pos, problem or "invalid batch"
                    break
                segment.add_scanned(header, interval)
            if bad_pos is not None:
                if segment.next_offset < recovery_point:
                    segment.flush_indexes()
                    return RecoveryResult(
                        scanned,
                        truncated,
                        deleted,
                        f"corrupt data below the recovery point in {segment.log_path.name} "
                        f"at offset {segment.next_offset}: {reason}",
                        -1,
                        reason,
                    )
                cut_at = segment.next_offset
                reason = f"{reason} in {segment.log_path.name}"
                truncated += os.fstat(fd).st_size - bad_pos
                os.ftruncate(fd, bad_pos)
                os.fsync(fd)
                for later in segments[i + 1 :]:
                    truncated += later.log_path.stat().st_size
                    later.delete()
                    deleted += 1
        finally:
            os.close(fd)
        segment.seal_time_index()
        segment.flush_indexes()
        segment.index.unload()
        segment.timeindex.unload()
        if bad_pos is not None:
            break
    return RecoveryResult(scanned, truncated, deleted, None, cut_at, reason)


_NO_LIMIT = 2**63 - 1


def _out_of_sequence(header: BatchHeader, segment: Segment, limit: int, pos: int) -> str | None:
    """Why a batch whose CRC holds still cannot be where it is, or None.

    baseOffset lies outside the CRC, so a flipped bit there passes the CRC check. Offsets
    only grow (compaction leaves gaps, never reorders), stay in their segment (below the
    next segment's base) and within 2^31 of the segment's base (relative index entries).
    """
    base = header.base_offset
    if base < segment.next_offset:
        return f"batch base offset {base} below the expected {segment.next_offset} (file position {pos})"
    last = header.last_offset
    if last >= limit or last - segment.base_offset > _MAX_RELATIVE:
        return f"batch offsets {base}-{last} beyond the segment's range (file position {pos})"
    return None
