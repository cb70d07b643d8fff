"""`PartitionLog`: one partition's ordered segments, its offsets, appends and reads.

Owns offset assignment (patching baseOffset in place, never re-encoding), segment rolls,
reads of whole batches, timestamp lookups, the log start offset and the flushed offset
(recovery point). It must never decode records on append or read (except to check keys
on compacted topics and to apply a topic-level compression.type), never await, and never
fsync on its own for durability policy: the LogManager schedules fsyncs (a roll only
queues the old segment's path for the next flush round).
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import logging
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from crc32c import crc32c

from logstore.clock import Clock
from logstore.records import RecordTooLargeError, record_stamps, set_log_append_time
from logstore.records.header import (
    CRC_START,
    HEADER,
    MIN_BATCH_LENGTH,
    BatchHeader,
    encode_prefix,
)
from logstore.records.stream_start import stream_problem
from logstore.storage.configs import TopicConfig
from logstore.storage.errors import (
    KafkaStorageError,
    OffsetOutOfRangeError,
    UnknownTopicOrPartitionError,
)
from logstore.storage.files import HandleCache, fsync_dir, fsync_paths
from logstore.storage.index import IndexLru
from logstore.storage.readslice import ReadSlice
from logstore.storage.recompress import recompress
from logstore.storage.recovery import RecoveryResult, open_segments, report_offline
from logstore.storage.retention import expired_segments
from logstore.storage.segment import Segment
from logstore.storage.validation import MAX_CODEC, check_batches

log = logging.getLogger(__name__)

_MAX_RELATIVE = 2**31 - 1
_HEADER_SIZE = HEADER.size
_unpack_header = HEADER.unpack_from
_pack_prefix = struct.Struct(">qii").pack  # baseOffset, batchLength, partitionLeaderEpoch


class AppendResult(NamedTuple):
    """Offsets given to an append, and what a Produce response reports."""

    base_offset: int
    last_offset: int
    log_append_time: int  # -1 unless the topic uses LogAppendTime
    log_start_offset: int


class PartitionLog:
    """One partition's log; not thread-safe (the LogManager's thread owns it)."""

    def __init__(
        self,
        topic: str,
        partition: int,
        directory: Path,
        config: TopicConfig,
        clock: Clock,
        handles: HandleCache,
        lru: IndexLru,
        *,
        sync_on_roll: bool = True,
        on_log_start_change: Callable[[PartitionLog], None] | None = None,
        jitter: Callable[[int], int] | None = None,
    ) -> None:
        """`jitter(bound)` draws a number in [0, bound) for segment.jitter.ms."""
        self.topic = topic
        self.partition = partition
        self.directory = directory
        self.config = config
        self._clock = clock
        self._handles = handles
        self._lru = lru
        self._sync_on_roll = sync_on_roll
        self._on_log_start_change = on_log_start_change
        self._jitter = jitter
        # What a roll left to fsync, each with the end offset a flush round must reach
        # to cover it: the rolled segment's file and the partition directory (the new
        # segment's entry). Paths, not descriptors, so thousands of partitions rolling at
        # once hold no files open; the next round fsyncs them with the active segment,
        # off the event loop (a path gone by then was retired: nothing to keep).
        self._unsynced: list[tuple[Path, int]] = []
        self.last_flush_mono = 0  # when the LogManager last fsynced it for flush.ms
        # Set by `detach` when the topic is deleted: whoever still holds this object
        # (a producer waiting for its fsync) learns the partition is gone.
        self.deleted = False
        self.segments: list[Segment] = []
        self._bases: list[int] = []
        self.log_start_offset = 0
        self.flushed_offset = 0  # every offset below this is on disk (the recovery point)
        self._recovery_point_at_open = 0
        self.recovery_error: str | None = None
        self.recovery: RecoveryResult = RecoveryResult()
        self.last_append_ms = -1
        self.cleaned_offset = 0  # the compactor has processed everything below this
        # Files of segments removed by retention/delete_records, renamed `.deleted`; the
        # LogManager unlinks them after file.delete.delay.ms, off the event loop.
        self.retired: list[Path] = []
        self._closed_size = 0  # bytes in all segments but the active one
        self._write_failing = False  # the last append hit an I/O error (e.g. disk full)

    def __repr__(self) -> str:
        return (
            f"PartitionLog({self.topic}-{self.partition}, start={self.log_start_offset}, "
            f"end={self.log_end_offset})"
        )

    # -- properties ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """`topic-partition`, as in the directory name."""
        return f"{self.topic}-{self.partition}"

    @property
    def active(self) -> Segment:
        """The segment appends go to."""
        return self.segments[-1]

    @property
    def log_end_offset(self) -> int:
        """The next offset to be assigned (the high watermark on this single node)."""
        return self.segments[-1].next_offset if self.segments else self.log_start_offset

    @property
    def size_bytes(self) -> int:
        """Bytes in all segments."""
        return self._closed_size + self.segments[-1].size if self.segments else 0

    def segments_resized(self) -> None:
        """Recount sizes after the cleaner rewrote closed segments."""
        self._closed_size = sum(s.size for s in self.segments[:-1])

    @property
    def recovery_point(self) -> int:
        """The offset to checkpoint: flushed data, or the old point while damaged."""
        return self._recovery_point_at_open if self.recovery_error else self.flushed_offset

    @property
    def offline(self) -> bool:
        """True while the partition is not served (damage found at open or since)."""
        return self.recovery_error is not None

    def take_offline(self, reason: str) -> None:
        """Stop serving the partition (every call then raises KafkaStorageError) until a
        restart finds its files sound; logged once."""
        if self.recovery_error is None:
            report_offline(self.name, reason)
            self.recovery_error = reason

    def sync_failed(self, exc: OSError) -> None:
        """An fsync of this partition's files failed: take it offline for good.

        Linux may drop the pages it could not write and report the error only once, so a
        later fsync can succeed without them. Acknowledging anything past `flushed_offset`
        after this could promise data that is gone; a restart's recovery keeps what did
        reach the disk (as Kafka takes a failed log directory offline).
        """
        self.take_offline(
            f"fsync failed ({exc.strerror or exc}): writes from offset {self.flushed_offset} on "
            "may not be on disk; restart the broker to recover what is"
        )

    def _check_usable(self) -> None:
        if not self.segments:
            raise UnknownTopicOrPartitionError(f"{self.name} was deleted")
        if self.recovery_error is not None:
            raise KafkaStorageError(f"partition {self.name} is unusable: {self.recovery_error}")

    # -- opening ---------------------------------------------------------------------------
    def _new_segment(self, base: int) -> Segment:
        return Segment(self.directory, base, self._handles, self._lru)

    def _activate(self, segment: Segment) -> None:
        """Make `segment` the one appends go to, with its own segment.ms jitter (as
        Kafka: a draw below min(segment.jitter.ms, segment.ms), fixed per segment)."""
        segment.open_active()
        bound = min(self.config.segment_jitter_ms, self.config.segment_ms)
        if bound > 0 and self._jitter is not None:
            segment.roll_jitter_ms = self._jitter(bound)

    def _set_segments(self, segments: list[Segment]) -> None:
        self.segments = segments
        self._bases = [s.base_offset for s in segments]
        self._closed_size = sum(s.size for s in segments[:-1])

    def create(self, *, sync: bool, replaced: bool = False) -> None:
        """Make the directory and an empty first segment for a brand-new partition.

        The new directory entries are fsynced by the first flush round that has data to
        make durable (until then a crash loses nothing: opening recreates an empty
        partition the catalogue lists), so creating thousands of partitions costs no
        fsync on the caller's thread. Only a directory that `replaced` leftovers of an
        earlier topic is fsynced at once, so those can never come back.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        segment = self._new_segment(0)
        self._activate(segment)
        self._set_segments([segment])
        if sync and replaced:
            fsync_dir(self.directory)
            fsync_dir(self.directory.parent)
        elif sync:
            self._unsynced = [(self.directory.parent, 1), (self.directory, 1)]

    def load(self, *, clean: bool, recovery_point: int, log_start: int) -> RecoveryResult:
        """Open existing segments (see `recovery.open_segments`); never raises for damage,
        which ends up in `recovery_error` instead."""
        self.directory.mkdir(parents=True, exist_ok=True)
        segments, result = open_segments(
            self.directory,
            self._new_segment,
            clean=clean,
            recovery_point=recovery_point,
            interval=self.config.index_interval_bytes,
            name=self.name,
        )
        if not segments:
            segments = [self._new_segment(max(log_start, recovery_point if clean else 0))]
        self._activate(segments[-1])
        self._set_segments(segments)
        self.log_start_offset = max(log_start, segments[0].base_offset)
        self.log_start_offset = min(self.log_start_offset, self.log_end_offset)
        self.flushed_offset = (
            self.log_end_offset if clean else min(recovery_point, self.log_end_offset)
        )
        self.recovery = result
        self.recovery_error = result.error
        self._recovery_point_at_open = recovery_point
        return result

    def close(self, *, sync: bool) -> None:
        """Flush indexes, optionally fsync, and release descriptors."""
        if not self.segments:
            return
        active = self.active
        if active.writable:
            # Nothing past the flushed offset: every file and entry it needs is durable.
            # An offline partition promises nothing more: its recovery point stays put.
            dirty = sync and self.log_end_offset > self.flushed_offset and not self.offline
            try:
                if dirty:
                    fsync_paths([path for path, _ in self._unsynced])
                active.close_active(sync=dirty)
            except OSError as exc:
                # The other partitions still close and checkpoint.
                self.sync_failed(exc)
                dirty = False
            if dirty:
                self.flushed_offset = self.log_end_offset
        self._unsynced = []
        for segment in self.segments:
            segment.flush_indexes()
            self._handles.evict(segment.log_path)

    # -- appending -------------------------------------------------------------------------
    def append(
        self, data: bytes | bytearray | memoryview, *, now_ms: int | None = None
    ) -> AppendResult:
        """Validate, assign offsets to and write one or more concatenated v2 batches.

        Raises CorruptRecordError, RecordTooLargeError, InvalidRecordError or
        InvalidTimestampError before writing anything if any batch is bad.
        """
        now = self._clock.now_ms() if now_ms is None else now_ms
        config = self.config
        if (
            not config.plain_appends
            or not self.segments
            or self.recovery_error is not None
            or self._write_failing
        ):
            return self._append_general(data, now)
        # The produce hot path, inline because a batch of 100-byte records is written in
        # tens of microseconds and every Python call shows: exactly one valid batch that
        # fits the active segment. It checks what `check_batches` and `_should_roll`
        # check; anything unusual (several batches, a bad batch, a roll) goes to the
        # general path, which handles it or raises, with nothing written here.
        size = len(data)
        if size < _HEADER_SIZE or size > config.max_message_bytes:
            return self._append_general(data, now)
        # (baseOffset, batchLength, epoch, magic, crc, attributes, lastOffsetDelta,
        #  baseTimestamp, maxTimestamp, producerId, producerEpoch, baseSequence, count)
        h = _unpack_header(data, 0)
        view = data if type(data) is memoryview else memoryview(data)
        active = self.segments[-1]
        first = active.next_offset
        last = first + h[6]
        if (
            h[1] + 12 != size
            or h[1] < MIN_BATCH_LENGTH
            or h[3] != 2
            or h[6] < 0
            or h[12] != h[6] + 1
            or h[5] & 7 > MAX_CODEC
            or (h[5] & 7 and stream_problem(view, _HEADER_SIZE, h[5] & 7) is not None)
            or crc32c(view[CRC_START:]) != h[4]
            or h[8] > now + config.timestamp_after_max_ms
            or 0 <= h[7] < now - config.timestamp_before_max_ms
            or (active.size and self._should_roll(size, last, now))
        ):
            return self._append_general(data, now)
        try:
            active.append_one(
                _pack_prefix(first, h[1], 0), view, first, last, h[8], size,
                config.index_interval_bytes, now,
            )  # fmt: skip
        except OSError as exc:
            raise self._write_failed(exc) from exc
        self.last_append_ms = now
        return AppendResult(first, last, -1, self.log_start_offset)

    def _append_general(self, data: bytes | bytearray | memoryview, now: int) -> AppendResult:
        self._check_usable()
        view = memoryview(data)
        config = self.config
        headers = check_batches(view, config, now, self.name)
        if config.codec is not None:
            view, headers = recompress(view, headers, config.codec, config.compression_level)
            for _, header in headers:
                if header.size > config.max_message_bytes:
                    raise RecordTooLargeError(
                        f"batch of {header.size} bytes after recompression exceeds "
                        f"max.message.bytes {config.max_message_bytes}"
                    )
        if config.log_append_time:
            # Stamping LogAppendTime changes CRC-covered bytes, so this path copies once.
            buf = bytearray(view)
            for pos, _ in headers:
                set_log_append_time(buf, pos, now)
            view = memoryview(buf)
        first = self.log_end_offset
        offset = first
        chunks: list[bytes | memoryview] = []
        batches: list[tuple[int, int, int, int]] = []
        for pos, header in headers:
            last = offset + header.last_offset_delta
            if self._should_roll(header.size, last, now):
                self._write(chunks, batches, now)
                chunks, batches = [], []
                self.roll()
            chunks.append(encode_prefix(offset, header.batch_length, 0))
            chunks.append(view[pos + 16 : pos + header.size])
            max_ts = now if config.log_append_time else header.max_timestamp
            batches.append((offset, last, max_ts, header.size))
            offset = last + 1
        self._write(chunks, batches, now)
        self.last_append_ms = now
        if self._write_failing:
            self._write_failing = False
            log.warning("partition %s: appends succeed again", self.name)
        return AppendResult(
            first, offset - 1, now if config.log_append_time else -1, self.log_start_offset
        )

    def _write(self, chunks: list, batches: list, now: int) -> None:
        if not chunks:
            return
        try:
            self.active.write(chunks, batches, self.config.index_interval_bytes, now)
        except OSError as exc:
            raise self._write_failed(exc) from exc

    def _write_failed(self, exc: OSError) -> KafkaStorageError:
        """The error to raise for a failed write (disk full, I/O error), logged once until
        an append succeeds again; the segment was cut back, so nothing half-written stays."""
        if not self._write_failing:
            self._write_failing = True
            log.warning(
                "partition %s: append failed (%s); appends are answered KAFKA_STORAGE_ERROR "
                "(56) until one succeeds, everything acknowledged before is kept",
                self.name, exc,
            )  # fmt: skip
        return KafkaStorageError(f"write to {self.name} failed: {exc}")

    def _should_roll(self, size: int, last_offset: int, now: int) -> bool:
        active = self.active
        if active.size == 0:
            return False
        config = self.config
        first_append = active.first_append_ms
        return (
            active.size + size > config.segment_bytes
            or (
                first_append is not None
                and now - first_append >= config.segment_ms - active.roll_jitter_ms
            )
            or last_offset - active.base_offset > _MAX_RELATIVE
            # The active segment's indexes are pinned, so `count` is current.
            or (active.index.count + 1) * 8 > config.segment_index_bytes
            or (active.timeindex.count + 1) * 12 > config.segment_index_bytes
        )

    def roll(self) -> Segment:
        """Close the active segment and start a new one at the log end (no-op if empty)."""
        old = self.active
        if old.size == 0:
            return old
        segment = self._new_segment(old.next_offset)
        try:
            self._activate(segment)
        except OSError as exc:
            # No room for the new file: the old segment stays active and its waiting
            # producers' fsyncs go on; the next append or tick tries the roll again.
            raise self._write_failed(exc) from exc
        if self._sync_on_roll and old.writable:
            # Not fsynced here (a roll can happen inside an append or a tick, on the event
            # loop): the next flush round does it, and flushed_offset waits for that.
            self._unsynced.append((old.log_path, old.next_offset))
        old.close_active(sync=False)
        if self._sync_on_roll:
            self._unsynced.append((self.directory, segment.base_offset + 1))
        self.segments.append(segment)
        self._bases.append(segment.base_offset)
        self._closed_size += old.size
        return segment

    def maybe_roll(self, now_ms: int) -> bool:
        """Roll on segment.ms even without new appends (called by maintenance)."""
        active = self.active
        if (
            active.size
            and active.first_append_ms is not None
            and now_ms - active.first_append_ms >= self.config.segment_ms - active.roll_jitter_ms
        ):
            self.roll()
            return True
        return False

    # -- durability ------------------------------------------------------------------------
    def begin_flush(self) -> tuple[list[Path], int] | None:
        """(paths, end offset) to fsync off the event loop with `fsync_paths`, in order,
        before calling `finish_flush(end)`; None if everything is on disk."""
        end = self.log_end_offset
        if self.deleted:  # its files go with the directory: nothing left to make durable
            return None
        if self.recovery_error is not None:  # offline: nothing more is promised
            return None
        active = self.active
        if end <= self.flushed_offset or not active.writable:
            return None
        # No index write here: indexes need no durability (rebuilt after a crash,
        # written at close), and writing them for every partition each round would be
        # file I/O on the event loop.
        paths = list(dict.fromkeys(path for path, _ in self._unsynced))
        paths.append(active.log_path)
        return paths, end

    def finish_flush(self, end_offset: int) -> None:
        """Record that everything below end_offset is on disk."""
        self.flushed_offset = max(self.flushed_offset, end_offset)
        self._unsynced = [item for item in self._unsynced if item[1] > end_offset]

    def flush(self) -> None:
        """fsync now (blocking); a failure takes the partition offline and is raised."""
        job = self.begin_flush()
        if job is None:
            return
        paths, end = job
        try:
            fsync_paths(paths)
        except OSError as exc:
            self.sync_failed(exc)
            raise
        self.finish_flush(end)

    # -- reading ---------------------------------------------------------------------------
    def _segment_index(self, offset: int) -> int:
        return max(0, bisect.bisect_right(self._bases, offset) - 1)

    def read(
        self, offset: int, max_bytes: int, *, max_offset: int | None = None, min_one: bool = True
    ) -> ReadSlice:
        """Whole batches from the one containing `offset`, up to max_bytes: at least one,
        unless `min_one` is False (then empty if the first batch is larger than max_bytes).

        Empty at the log end; OffsetOutOfRangeError below the log start or past the end.
        A slice never spans two segments: call again from the next offset for more.
        With `max_offset` (a batch boundary, such as the last stable offset) nothing at or
        past it is returned.
        """
        self._check_usable()
        end = self.log_end_offset
        if offset < self.log_start_offset or offset > end:
            raise OffsetOutOfRangeError(
                f"offset {offset} outside [{self.log_start_offset}, {end}] of {self.name}"
            )
        if offset == end:
            return ReadSlice()
        i = self._segment_index(offset)
        while i < len(self.segments):
            segment = self.segments[i]
            found = segment.read_range(offset, max(0, max_bytes), min_one=min_one)
            if found is not None:
                start, stop, next_offset = found
                if stop == start:
                    return ReadSlice()
                if max_offset is not None and next_offset > max_offset:
                    stop, next_offset = self._cut(segment, start, max_offset)
                    if stop <= start:
                        return ReadSlice()
                return ReadSlice(segment.read_fd(), start, stop - start, next_offset, self._handles)
            i += 1  # a gap left by compaction: the next batch is in a later segment
        return ReadSlice()

    def fetch_upper_bound(self, piece: ReadSlice) -> int:
        """An offset past what `piece` holds, as coarse as Kafka's: the first indexed
        offset after it in its segment, else the next segment's base or the log end.
        A read_committed fetch lists the aborted transactions that start below it."""
        i = self._segment_index(piece.next_offset - 1)
        found = self.segments[i].index.upper_bound(piece.position + piece.size)
        if found is not None:
            return self.segments[i].base_offset + found
        if i + 1 < len(self.segments):
            return self.segments[i + 1].base_offset
        return self.log_end_offset

    @staticmethod
    def _cut(segment: Segment, start: int, max_offset: int) -> tuple[int, int]:
        """(stop position, next offset) of a read from `start` that ends at `max_offset`."""
        at = segment.find(max_offset)
        if at is None:
            return segment.size, segment.next_offset
        pos, header = at
        if header.base_offset < max_offset:
            # Not a batch boundary: stop before the batch holding it.
            return pos, header.base_offset
        return pos, max_offset

    def walk_headers(self, offset: int) -> Iterator[tuple[BatchHeader, Callable[[], bytes]]]:
        """Every batch's header from the one holding `offset` to the log end, with a
        function returning that batch's bytes, for the rare ones a caller must read.
        Record bodies are not read, so a scan of a long log costs little I/O."""
        self._check_usable()
        for segment in self.segments[self._segment_index(offset) :]:
            for pos, header in segment.headers_from(offset):
                yield header, functools.partial(segment.read_batch, pos, header.size)

    def read_batches(self, offset: int, max_bytes: int) -> bytes:
        """Convenience: the bytes of `read` (copies; the broker should prefer sendfile)."""
        with self.read(offset, max_bytes) as piece:
            return piece.to_bytes()

    def offset_for_timestamp(self, ts_ms: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record with timestamp >= ts_ms; None past the end."""
        self._check_usable()
        for segment in self.segments:
            if segment.next_offset <= self.log_start_offset:
                continue
            found = segment.find_timestamp(ts_ms, self.log_start_offset)
            if found is not None:
                return found
        return None

    def max_timestamp(self) -> tuple[int, int] | None:
        """(offset, timestamp) of the record with the largest timestamp; None if empty."""
        self._check_usable()
        best: Segment | None = None
        for segment in self.segments:
            if segment.size and (best is None or segment.max_timestamp > best.max_timestamp):
                best = segment
        if best is None or best.max_timestamp < 0:
            return None
        found = best.find(best.offset_of_max_timestamp)
        if found is None:
            return best.offset_of_max_timestamp, best.max_timestamp
        pos, header = found
        for offset, ts in record_stamps(best.read_batch(pos, header.size)):
            if ts == best.max_timestamp:
                return offset, ts
        return header.last_offset, best.max_timestamp

    def first_timestamp(self) -> int | None:
        """Timestamp (max of the first batch) at the log start, None if the log is empty."""
        if self.log_start_offset >= self.log_end_offset:
            return None
        for segment in self.segments[self._segment_index(self.log_start_offset) :]:
            found = segment.find(self.log_start_offset)
            if found is not None:
                return found[1].max_timestamp
        return None

    def last_timestamp(self) -> int | None:
        """The largest timestamp in the log, None if empty."""
        found = self.max_timestamp()
        return None if found is None else found[1]

    # -- deleting --------------------------------------------------------------------------
    def _delete_first_segments(self, count: int) -> int:
        if count <= 0:
            return 0
        if count >= len(self.segments):
            # A partition keeps an active segment. If the disk has no room for a new one,
            # the active one stays and the rest still go: that is what frees the room.
            with contextlib.suppress(KafkaStorageError):
                self.roll()
            count = len(self.segments) - 1
        for segment in self.segments[:count]:
            self._closed_size -= segment.size
            self.retired.extend(segment.retire())
        del self.segments[:count]
        del self._bases[:count]
        if self.segments[0].base_offset > self.log_start_offset:
            self.log_start_offset = self.segments[0].base_offset
            if self._on_log_start_change is not None:
                self._on_log_start_change(self)
        return count

    def delete_records(self, offset: int) -> int:
        """Move the log start offset to `offset` (-1 = high watermark); returns the new start."""
        self._check_usable()
        end = self.log_end_offset
        if offset == -1:
            offset = end
        if offset < 0 or offset > end:
            raise OffsetOutOfRangeError(f"cannot delete records up to {offset} in {self.name}")
        if offset <= self.log_start_offset:
            return self.log_start_offset
        self.log_start_offset = offset
        count = 0
        for segment in self.segments:
            if segment.next_offset <= offset and segment.size:
                count += 1
            else:
                break
        self._delete_first_segments(count)
        if self._on_log_start_change is not None:
            self._on_log_start_change(self)
        return self.log_start_offset

    def apply_retention(self, now_ms: int) -> int:
        """Delete whole segments past retention.ms / retention.bytes; returns how many."""
        if self.recovery_error is not None or not self.config.delete:
            return 0
        count = expired_segments(self.segments, self.size_bytes, self.config, now_ms)
        deleted = self._delete_first_segments(count)
        if deleted:
            log.info(
                "retention deleted %d segment(s) of %s (retention.ms=%d, retention.bytes=%d); "
                "log start offset now %d",
                deleted,
                self.name,
                self.config.retention_ms,
                self.config.retention_bytes,
                self.log_start_offset,
            )
        return deleted

    def upkeep_due(self, now_ms: int) -> bool:
        """Could `maybe_roll` or `apply_retention` do anything now? A cheap necessary
        condition, so a tick over thousands of idle partitions stays well under 1 ms."""
        segments = self.segments
        if not segments or self.recovery_error is not None:
            return False
        config = self.config
        active = segments[-1]
        first_append = active.first_append_ms
        if (
            first_append is not None
            and now_ms - first_append >= config.segment_ms - active.roll_jitter_ms
        ):
            return True
        if not config.delete:
            return False
        front = segments[0]
        if front.size == 0:
            return len(segments) > 1
        return (
            config.retention_ms >= 0 and front.max_timestamp < now_ms - config.retention_ms
        ) or (config.retention_bytes >= 0 and self.size_bytes > config.retention_bytes)

    def detach(self) -> None:
        """Close every descriptor and forget the segments, leaving the files (topic
        deletion renames the directory and removes it off the event loop); later calls
        raise UnknownTopicOrPartitionError for callers still holding this object."""
        self.deleted = True
        self.log_start_offset = self.log_end_offset
        self._closed_size = 0
        self._unsynced = []
        for segment in self.segments:
            segment.writable = False
            self._handles.evict(segment.log_path)
            segment.index.forget()
            segment.timeindex.forget()
        self.segments = []
        self._bases = []
