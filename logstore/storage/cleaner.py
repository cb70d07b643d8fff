"""Log compaction for `cleanup.policy=compact`: keep the latest record per key.

The cleaner works on closed segments only (never the active one), up to the first segment
newer than `min.compaction.lag.ms`. It builds a key -> latest offset map over that range,
then rewrites each segment into `<base>.log.cleaned`, fsyncs it and renames it over the
original (atomic), then rebuilds that segment's indexes. A crash leaves either the old or
the new file; stray `.cleaned` files are removed when the partition opens, and indexes are
rebuilt after any unclean stop.

Kept batches keep their base offset, last offset delta, producer fields and codec, so
offsets never change; batches whose records all survive are copied byte for byte. Control
batches are kept as they are. Tombstones (null values) are dropped once their batch is
older than `delete.retention.ms`.

Owns record-level rewriting of segment files. It must never run on the produce or fetch
path, never touch the active segment, and never change an offset.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from logstore.records import RecordEntry, decode_records, encode_batch
from logstore.storage.files import fsync_dir
from logstore.storage.partition import PartitionLog
from logstore.storage.segment import Segment

# Bounds the key map's memory; segments beyond it wait for the next run.
MAX_KEYS = 1_000_000


@dataclass(frozen=True)
class CleanResult:
    """What one cleaner pass did to a partition."""

    segments: int
    bytes_before: int
    bytes_after: int
    records_removed: int


def _cleanable(log: PartitionLog, now_ms: int) -> list[Segment]:
    horizon = now_ms - log.config.min_compaction_lag_ms
    out = []
    for segment in log.segments[:-1]:
        if segment.size and segment.max_timestamp > horizon:
            break
        out.append(segment)
    return out


def needs_cleaning(log: PartitionLog, now_ms: int) -> bool:
    """Is the dirty share of the cleanable segments at least min.cleanable.dirty.ratio,
    or has dirty data waited longer than max.compaction.lag.ms?"""
    segments = _cleanable(log, now_ms)
    total = sum(s.size for s in segments)
    dirty_segments = [s for s in segments if s.size and s.next_offset > log.cleaned_offset]
    if not total or not dirty_segments:
        return False
    overdue = now_ms - log.config.max_compaction_lag_ms
    if dirty_segments[0].max_timestamp <= overdue:
        return True
    dirty = sum(s.size for s in dirty_segments)
    return dirty / total >= log.config.min_cleanable_dirty_ratio


def _key_map(segments: list[Segment]) -> tuple[dict[bytes, int], list[Segment]]:
    latest: dict[bytes, int] = {}
    covered: list[Segment] = []
    for segment in segments:
        fd = segment.read_fd()
        for pos, header in segment.walk(fd, 0):
            if header.is_control:
                continue
            for record in decode_records(os.pread(fd, header.size, pos)):
                if record.key is not None:
                    latest[record.key] = record.offset
        covered.append(segment)
        if len(latest) >= MAX_KEYS:
            break
    return latest, covered


def _rewrite(
    log: PartitionLog, segment: Segment, latest: dict[bytes, int], now_ms: int
) -> tuple[int, int]:
    """Rewrite one segment; returns (new size, records removed)."""
    tmp = segment.log_path.with_name(segment.log_path.name + ".cleaned")
    removed = 0
    fd = segment.read_fd()
    horizon = now_ms - log.config.delete_retention_ms
    with open(tmp, "wb") as out:
        for pos, header in segment.walk(fd, 0):
            raw = os.pread(fd, header.size, pos)
            if header.is_control:
                out.write(raw)
                continue
            records = decode_records(raw)
            drop_tombstones = header.max_timestamp < horizon
            keep = [
                r
                for r in records
                if r.key is not None
                and latest.get(r.key) == r.offset
                and not (r.value is None and drop_tombstones)
            ]
            removed += len(records) - len(keep)
            if len(keep) == len(records):
                out.write(raw)
            elif keep:
                out.write(
                    encode_batch(
                        [
                            RecordEntry(
                                r.offset - header.base_offset,
                                r.timestamp,
                                r.key,
                                r.value,
                                r.headers,
                            )
                            for r in keep
                        ],
                        base_offset=header.base_offset,
                        last_offset_delta=header.last_offset_delta,
                        codec=header.compression,
                        producer_id=header.producer_id,
                        producer_epoch=header.producer_epoch,
                        base_sequence=header.base_sequence,
                        transactional=header.is_transactional,
                        timestamp_type=header.timestamp_type,
                        max_timestamp=header.max_timestamp,
                        partition_leader_epoch=header.partition_leader_epoch,
                    )
                )
        out.flush()
        os.fsync(out.fileno())
    segment.replace_file(tmp)
    fsync_dir(segment.log_path.parent)
    segment.reindex(log.config.index_interval_bytes)
    return segment.size, removed


def clean_log(log: PartitionLog, now_ms: int, *, force: bool = False) -> CleanResult | None:
    """Compact the log's closed segments if they are dirty enough (or `force`)."""
    if not log.config.compact or log.recovery_error is not None:
        return None
    if not force and not needs_cleaning(log, now_ms):
        return None
    latest, segments = _key_map(_cleanable(log, now_ms))
    if not segments:
        return None
    before = sum(s.size for s in segments)
    after = removed = 0
    for segment in segments:
        size, gone = _rewrite(log, segment, latest, now_ms)
        after += size
        removed += gone
    log.segments_resized()
    log.cleaned_offset = segments[-1].next_offset
    return CleanResult(len(segments), before, after, removed)
