"""Log compaction for `cleanup.policy=compact`: keep the latest record per key.

A cleaning runs in three steps so that the expensive part stays off the event loop:

1. `plan` (caller's thread): pick the closed segments to clean (never the active one, none
   newer than `min.compaction.lag.ms`) if the dirty share reaches
   `min.cleanable.dirty.ratio` or dirty data waited past `max.compaction.lag.ms`, and
   snapshot their paths and sizes.
2. `build` (a worker thread): read those files through its own descriptors, build the key
   -> latest offset map, write each segment's survivors to `<base>.log.cleaned`, fsync it,
   and write its indexes as `<base>.index.cleaned` / `<base>.timeindex.cleaned`. It reads
   and writes only files, never the live `PartitionLog` or `Segment` objects, honours a
   byte-rate budget (Kafka's `log.cleaner.io.max.bytes.per.second`) and stops early when
   cancelled.
3. `install` (caller's thread again): if the log is still live and every planned segment
   is still there with the size it had, rename the cleaned files over the originals
   (atomic, one segment at a time) and adopt the new summaries; otherwise (retention,
   delete_records or topic deletion removed a segment, the log was damaged) discard the
   cleaned files and change nothing.

A crash leaves either the old or the new `.log` of each segment, both valid; stray
`.cleaned` files are removed when the partition opens and indexes are rebuilt after any
unclean stop.

Kept batches keep their base offset, last offset delta, producer fields and codec, so
offsets never change; batches whose records all survive are copied byte for byte unless
they need a delete horizon. Tombstones (null values) live `delete.retention.ms` past the
first pass that keeps them, as in Kafka (KIP-534): that pass writes the horizon (now +
`delete.retention.ms`) into the batch header, a pass after it drops them.

Transactions, as Kafka cleans them: nothing at or past the last stable offset is cleaned
(an open transaction may still abort), and the data batches of aborted transactions are
removed and never count as a key's latest value. A COMMIT/ABORT marker goes once none of
its transaction's data is left and its delete horizon has passed (`marker_cleaning`); the
first pass that finds it removable rewrites it with the horizon (now +
`delete.retention.ms`) in its header, so a restart keeps the wait. As in Kafka, a batch
holding a live producer's last sequence (or, if it has none, its last marker) and the
last batch of the pass are never dropped, only emptied of records, so producer state and
offsets stay rebuildable from the log. Storage knows nothing of producers: the broker
lends it a `TransactionView` that answers the LSO, the aborted ranges and each
producer's last batch, and forgets the aborted transactions a pass found without data;
an abort's marker stays while the view still lists it (until the forgetting is saved).

Owns record-level rewriting of segment files. It must never run on the produce or fetch
path, never touch the active segment, never change an offset, and (in `build`) never touch
objects the caller's thread uses.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from logstore.records import (
    HEADER_SIZE,
    BatchHeader,
    decode_records,
    rebuild_batch,
)
from logstore.records.header import parse_header
from logstore.storage.files import fsync_dir
from logstore.storage.marker_cleaning import AbortedRange, MarkerTracker
from logstore.storage.partition import PartitionLog
from logstore.storage.segment import Segment


class TransactionView(Protocol):
    """What compaction needs to know about a partition's transactions."""

    def last_stable_offset(self, log: PartitionLog) -> int: ...

    def aborted_ranges(
        self, log: PartitionLog, start: int, end: int
    ) -> list[tuple[int, int, int]]: ...

    def last_batches(self, log: PartitionLog) -> dict[int, tuple[int | None, int]]:
        """Producer id -> (last offset of its last data batch, or None when its last
        batch is a marker; its epoch), for every producer the partition still tracks."""
        ...

    def forget_aborted(self, log: PartitionLog, gone: list[tuple[int, int, int]]) -> None:
        """These aborted transactions have no data left: stop listing them."""
        ...


# Bounds the key map's memory; segments beyond it wait for the next run.
MAX_KEYS = 1_000_000
READ_CHUNK = 1 << 20


class CleaningCancelled(Exception):
    """`build` stopped because the job was cancelled (close or topic deletion)."""


@dataclass(frozen=True)
class CleanResult:
    """What one cleaner pass did to a partition."""

    segments: int
    bytes_before: int
    bytes_after: int
    records_removed: int


class Throttle:
    """Keeps a worker's I/O under `rate` bytes per second by waiting between chunks.

    `wait(seconds)` returns True to stop early (it is the cancel event's `wait`, so a
    cancelled job does not sit out its budget).
    """

    def __init__(
        self,
        rate: float | None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        self.rate = rate
        self._monotonic = monotonic
        self._wait = wait or threading.Event().wait
        self._start = monotonic()
        self.bytes = 0

    def consume(self, nbytes: int) -> bool:
        """Account for `nbytes` of I/O; wait if ahead of the budget. True = stop now."""
        self.bytes += nbytes
        if self.rate is None:
            return False
        ahead = self.bytes / self.rate - (self._monotonic() - self._start)
        return ahead > 0 and self._wait(ahead)


@dataclass
class CleanJob:
    """One planned cleaning of one partition; built off the loop, installed on it."""

    log: PartitionLog
    segments: list[Segment]
    sizes: list[int]
    ends: list[int]
    now_ms: int
    delete_retention_ms: int
    index_interval_bytes: int
    cancel: threading.Event = field(default_factory=threading.Event)
    throttle: Throttle | None = None
    # producer id -> (first offset, marker offset) of its aborted transactions in range
    aborted: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    aborted_ranges: list[AbortedRange] = field(default_factory=list)
    listed_aborts: set[tuple[int, int]] = field(default_factory=set)  # (pid, marker offset)
    # producer id -> (last data offset or None, epoch); see TransactionView.last_batches
    last_batches: dict[int, tuple[int | None, int]] = field(default_factory=dict)
    transactions: TransactionView | None = None

    def holds_producer_state(self, header: BatchHeader) -> bool:
        """The batch Kafka keeps (at least empty) for a live producer: the one ending at its
        last data offset, or its last marker when it has no data batch since."""
        last = self.last_batches.get(header.producer_id) if header.producer_id >= 0 else None
        if last is None:
            return False
        data_offset, epoch = last
        if data_offset is not None:
            return header.last_offset == data_offset
        return header.is_control and header.producer_epoch == epoch

    def is_aborted(self, header: BatchHeader) -> bool:
        """A data batch of an aborted transaction (to be removed)."""
        if not header.is_transactional or header.is_control:
            return False
        ranges = self.aborted.get(header.producer_id)
        return ranges is not None and any(
            first <= header.base_offset < last for first, last in ranges
        )


@dataclass
class CleanedSegment:
    """A rewritten segment waiting to be installed: its `.cleaned` files and summary."""

    original: Segment
    scratch: Segment  # a detached Segment over the .cleaned paths, summary and indexes set
    removed: int

    @property
    def paths(self) -> list[Path]:
        return [self.scratch.log_path, self.scratch.index.path, self.scratch.timeindex.path]


@dataclass
class BuiltClean:
    """What `build` produced: cleaned segments for a prefix of the job's segments."""

    job: CleanJob
    cleaned: list[CleanedSegment]
    data_gone: list[AbortedRange] = field(default_factory=list)

    def discard(self) -> None:
        """Remove the cleaned files (the job was abandoned)."""
        for piece in self.cleaned:
            for path in piece.paths:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)


# -- step 1: plan (caller's thread) ----------------------------------------------------------
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


def plan(
    log: PartitionLog,
    now_ms: int,
    *,
    force: bool = False,
    transactions: TransactionView | None = None,
) -> CleanJob | None:
    """A job for the log's cleanable segments, or None if there is nothing worth doing."""
    if not log.config.compact or log.recovery_error is not None or not log.segments:
        return None
    if not force and not needs_cleaning(log, now_ms):
        return None
    segments = _cleanable(log, now_ms)
    ranges: list[AbortedRange] = []
    if transactions is not None and segments:
        stable = transactions.last_stable_offset(log)
        segments = [s for s in segments if s.next_offset <= stable]
        if segments:
            start, end = segments[0].base_offset, segments[-1].next_offset
            ranges = transactions.aborted_ranges(log, start, end)
    if not segments:
        return None
    job = CleanJob(
        log,
        segments,
        [s.size for s in segments],
        [s.next_offset for s in segments],
        now_ms,
        log.config.delete_retention_ms,
        log.config.index_interval_bytes,
    )
    for pid, first, last in ranges:
        job.aborted.setdefault(pid, []).append((first, last))
    if transactions is not None:
        job.aborted_ranges = ranges
        job.listed_aborts = {(pid, last) for pid, _, last in ranges}
        job.last_batches = transactions.last_batches(log)
        job.transactions = transactions
    return job


# -- step 2: build (worker thread; files only) -----------------------------------------------
def _batches(fd: int, size: int, job: CleanJob) -> Iterator[tuple[BatchHeader, bytes | memoryview]]:
    """Every batch of the first `size` bytes of a segment file, read in large chunks."""
    pos = 0
    buf = b""
    buf_start = 0
    while pos < size:
        rel = pos - buf_start
        if len(buf) - rel < HEADER_SIZE:
            buf, buf_start, rel = _read(fd, min(READ_CHUNK, size - pos), pos, job), pos, 0
        header = parse_header(buf, rel)
        if rel + header.size > len(buf):
            want = max(min(READ_CHUNK, size - pos), header.size)
            buf, buf_start, rel = _read(fd, want, pos, job), pos, 0
        if len(buf) - rel < header.size:
            raise OSError(f"segment file shorter than planned at {pos}")
        yield header, memoryview(buf)[rel : rel + header.size]
        pos += header.size
        # Decoding records is Python work that holds the GIL: hand it to the event loop
        # after every batch instead of making it wait for the 5 ms switch interval.
        time.sleep(0)


def _read(fd: int, n: int, pos: int, job: CleanJob) -> bytes:
    if job.cancel.is_set() or (job.throttle is not None and job.throttle.consume(n)):
        raise CleaningCancelled()
    return os.pread(fd, n, pos)


@contextlib.contextmanager
def _opened(segment: Segment) -> Iterator[int]:
    """A read descriptor for one segment at a time, so a job over thousands of segments
    holds one file open; a segment retention removed meanwhile cancels the job (the
    install step would refuse it anyway)."""
    try:
        fd = os.open(segment.log_path, os.O_RDONLY)
    except FileNotFoundError:
        raise CleaningCancelled() from None
    try:
        yield fd
    finally:
        os.close(fd)


def _key_map(job: CleanJob) -> tuple[dict[bytes, int], int]:
    """Latest offset of every key, and how many of the job's segments it covers."""
    latest: dict[bytes, int] = {}
    covered = 0
    for segment, size in zip(job.segments, job.sizes, strict=True):
        with _opened(segment) as fd:
            for header, raw in _batches(fd, size, job):
                if header.is_control or job.is_aborted(header):
                    continue
                for record in decode_records(raw):
                    if record.key is not None:
                        latest[record.key] = record.offset
        covered += 1
        if len(latest) >= MAX_KEYS:
            break
    return latest, covered


def _rewrite(
    job: CleanJob,
    segment: Segment,
    fd: int,
    size: int,
    latest: dict[bytes, int],
    tracker: MarkerTracker,
    round_end: int,
) -> CleanedSegment:
    """Write one segment's survivors and indexes to `.cleaned` files (fsyncing the log)."""
    scratch = Segment.scratch_for(segment, ".cleaned")
    scratch.index.reset()
    scratch.timeindex.reset()
    removed = 0
    out_fd = os.open(scratch.log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for header, raw in _batches(fd, size, job):
            data, dropped = _cleaned_batch(job, header, raw, latest, tracker, round_end)
            removed += dropped
            if data is None:
                continue
            written = 0
            while written < len(data):
                written += os.pwrite(out_fd, data[written:], scratch.size + written)
            if job.throttle is not None and job.throttle.consume(len(data)):
                raise CleaningCancelled()
            scratch.add_scanned(parse_header(data), job.index_interval_bytes)
        os.fsync(out_fd)
    finally:
        os.close(out_fd)
    scratch.seal_time_index()
    scratch.flush_indexes()
    return CleanedSegment(segment, scratch, removed)


def _cleaned_batch(
    job: CleanJob,
    header: BatchHeader,
    raw: bytes | memoryview,
    latest: dict[bytes, int],
    tracker: MarkerTracker,
    round_end: int,
) -> tuple[bytes | memoryview | None, int]:
    """What one batch becomes (None: dropped) and how many records it lost, by Kafka's
    rules: markers per `marker_cleaning`, aborted data removed, the latest record per key
    kept, and a batch a live producer's state needs (or the pass's last) kept empty."""
    horizon = header.delete_horizon_ms
    if header.is_control:
        removable = tracker.marker(header, raw)
        # A marker still listed as an aborted transaction's end (its forgetting is not
        # saved yet) stays: a crash would otherwise list an abort whose marker is gone.
        discard = (
            removable
            and horizon is not None
            and horizon <= job.now_ms
            and (header.producer_id, header.base_offset) not in job.listed_aborts
        )
        stamp = removable and horizon is None
    else:
        discard = tracker.data(header)
        stamp = False
    keep_empty = job.holds_producer_state(header) or header.next_offset == round_end
    if discard and not keep_empty:
        return None, header.records_count
    # An emptied batch is its header alone, uncompressed, as Kafka writes one.
    if discard:
        return rebuild_batch(header, [], codec=0), header.records_count
    if header.is_control:
        if not header.records_count:  # emptied by an earlier pass: nothing left to guard
            return (raw if keep_empty else None), 0
        if not stamp:
            return raw, 0
        records = decode_records(raw)
        horizon = job.now_ms + job.delete_retention_ms
        return rebuild_batch(
            header, records, codec=header.compression, delete_horizon_ms=horizon
        ), 0
    records = decode_records(raw)
    drop_tombstones = horizon is not None and horizon <= job.now_ms
    keep = [
        r
        for r in records
        if r.key is not None
        and latest.get(r.key) == r.offset
        and not (r.value is None and drop_tombstones)
    ]
    removed = len(records) - len(keep)
    if not keep:
        return (rebuild_batch(header, [], codec=0) if keep_empty else None), removed
    if horizon is None and any(r.value is None for r in keep):
        horizon = job.now_ms + job.delete_retention_ms  # the tombstones' wait starts now
    elif not removed:
        return raw, 0
    return rebuild_batch(header, keep, codec=header.compression, delete_horizon_ms=horizon), removed


def build(job: CleanJob) -> BuiltClean:
    """Write cleaned copies of the job's segments (worker thread). On any error or
    cancellation the partial files are removed and the exception propagates."""
    built = BuiltClean(job, [])
    if job.cancel.is_set():  # e.g. the topic was deleted while the job waited its turn
        raise CleaningCancelled()
    try:
        latest, covered = _key_map(job)
        tracker = MarkerTracker.over(job.aborted_ranges)
        round_end = job.ends[covered - 1] if covered else 0
        for i in range(covered):
            with _opened(job.segments[i]) as fd:
                built.cleaned.append(
                    _rewrite(job, job.segments[i], fd, job.sizes[i], latest, tracker, round_end)
                )
        built.data_gone = tracker.data_gone
    except BaseException:
        built.discard()
        for segment in job.segments[len(built.cleaned) : len(built.cleaned) + 1]:
            # The segment being written when it stopped.
            for path in Segment.scratch_for(segment, ".cleaned").paths():
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
        raise
    return built


# -- step 3: install (caller's thread) -------------------------------------------------------
def conflict(built: BuiltClean, live: PartitionLog | None) -> str | None:
    """Why the cleaned files must not be installed, or None if they can be."""
    job = built.job
    log = job.log
    if live is not log:
        return "the topic was deleted"
    if log.recovery_error is not None:
        return "the partition is damaged"
    present = {id(s) for s in log.segments[:-1]}
    for segment, size in zip(job.segments, job.sizes, strict=True):
        if id(segment) not in present:
            return f"segment {segment.base_offset} was removed while it was being cleaned"
        if segment.size != size:
            return f"segment {segment.base_offset} changed while it was being cleaned"
    return None


def install(
    built: BuiltClean,
    live: PartitionLog | None,
    *,
    sync_dir: Callable[[Path], None] = fsync_dir,
) -> CleanResult | None:
    """Swap the cleaned segments in if nothing conflicting happened; else discard them.

    `sync_dir` makes the renames durable (the LogManager runs it on its io thread: until
    it does, a crash leaves old or new files, both valid)."""
    if conflict(built, live) is not None:
        built.discard()
        return None
    job = built.job
    log = job.log
    before = after = removed = 0
    for i, piece in enumerate(built.cleaned):
        before += piece.original.size
        try:
            piece.original.adopt(piece.scratch)
        except OSError as exc:
            # A segment's files may now disagree with each other: stop serving the
            # partition (as Kafka takes a failed log dir offline); the next start is
            # unclean for it and rebuilds its indexes from the files.
            log.take_offline(f"compaction swap of {piece.original.log_path.name} failed: {exc}")
            BuiltClean(job, built.cleaned[i:]).discard()
            raise
        after += piece.original.size
        removed += piece.removed
    if built.cleaned:
        sync_dir(log.directory)
        log.segments_resized()
        log.cleaned_offset = built.cleaned[-1].original.next_offset
        if built.data_gone and job.transactions is not None:
            job.transactions.forget_aborted(log, built.data_gone)
    return CleanResult(len(built.cleaned), before, after, removed)


def clean_log(
    log: PartitionLog,
    now_ms: int,
    *,
    force: bool = False,
    transactions: TransactionView | None = None,
) -> CleanResult | None:
    """Plan, build and install on this thread (tests and tools; the LogManager runs
    `build` in its cleaner thread instead)."""
    job = plan(log, now_ms, force=force, transactions=transactions)
    if job is None:
        return None
    return install(build(job), log)
