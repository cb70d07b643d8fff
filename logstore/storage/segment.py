"""One segment: `<20-digit base offset>.log` plus its `.index` and `.timeindex`.

The `.log` file holds RecordBatch v2 bytes back to back, exactly as producers sent them
with only baseOffset and partitionLeaderEpoch rewritten. Its size always ends on a batch
boundary (appends write whole batches; recovery truncates torn tails).

Owns the files of one segment, batch-header walks over them and its summary (size, next
offset, max timestamp). It must never decide when to roll, retain or fsync for durability
policy: the PartitionLog decides, the segment does what it is told.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from logstore.records import (
    HEADER_SIZE,
    BatchHeader,
    CorruptRecordError,
    parse_header,
    record_stamps,
    validate_batch,
)
from logstore.records.header import MIN_BATCH_LENGTH
from logstore.storage.files import HandleCache
from logstore.storage.index import IndexLru, OffsetIndex, TimeIndex

SCAN_CHUNK = 1 << 20
# Header walks read this much at a time: several small batches per read, while a large
# batch's body is skipped instead of read.
HEADER_CHUNK = 1 << 16
DELETED_SUFFIX = ".deleted"  # retired segment files waiting for file.delete.delay.ms
_IOV_MAX = 512


def segment_name(base_offset: int) -> str:
    """The 20-digit, zero-padded base offset Kafka names segment files with."""
    return f"{base_offset:020d}"


class Segment:
    """One segment's files and summary; only the active one holds a write descriptor."""

    def __init__(
        self, directory: Path, base_offset: int, handles: HandleCache, lru: IndexLru | None
    ) -> None:
        self.base_offset = base_offset
        name = segment_name(base_offset)
        self.log_path = directory / f"{name}.log"
        self.index = OffsetIndex(directory / f"{name}.index", lru)
        self.timeindex = TimeIndex(directory / f"{name}.timeindex", lru)
        self._handles = handles
        self._lru = lru
        self.size = 0
        self.next_offset = base_offset
        self.max_timestamp = -1
        self.offset_of_max_timestamp = -1  # last offset of the batch that carried it
        self.first_append_ms: int | None = None  # drives segment.ms rolls
        self.roll_jitter_ms = 0  # subtracted from segment.ms (segment.jitter.ms)
        self._bytes_since_index = 0
        # Whether this is the active segment (appends go here). Its read-write descriptor
        # lives in the shared cache like every other and is reopened if evicted.
        self.writable = False
        # (offset, position, header if known) of the batch a fetch at `offset` starts with:
        # after a slice is read, the batch right after it (a consumer's next fetch starts
        # there); after a batch did not fit what a reply had left, that batch (the consumer
        # asks for it again in its next fetch). Either way the next read needs no index
        # lookup or header walk.
        self._read_hint: tuple[int, int, BatchHeader | None] | None = None

    def __repr__(self) -> str:
        return f"Segment({self.base_offset}, size={self.size}, next={self.next_offset})"

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def fd(self) -> int | None:
        """The read-write descriptor while this is the active segment, else None."""
        return self._handles.get(self.log_path, True) if self.writable else None

    def open_active(self) -> None:
        """Become the segment appends go to (creating its file) with the indexes loaded."""
        if not self.writable:
            self._handles.open_new(self.log_path)
            self.writable = True
        self.index.pin()
        self.timeindex.pin()

    def close_active(self, *, sync: bool) -> None:
        """Stop being active: final time-index entry, write indexes, drop the descriptor."""
        self.seal_time_index()
        self.index.unpin(self._lru)
        self.timeindex.unpin(self._lru)
        if self.writable:
            try:
                if sync:
                    os.fsync(self._handles.get(self.log_path, True))
            finally:  # a failed fsync still leaves the segment closed
                self._handles.evict(self.log_path)
                self.writable = False

    def seal_time_index(self) -> None:
        """Record the segment's max timestamp as the last time-index entry (as Kafka does)."""
        if self.max_timestamp >= 0:
            self.timeindex.maybe_append(
                self.max_timestamp, self.offset_of_max_timestamp - self.base_offset
            )

    def flush_indexes(self) -> None:
        """Write pending index entries (no fsync: indexes are rebuilt after a crash)."""
        self.index.flush()
        self.timeindex.flush()

    def read_fd(self) -> int:
        """A descriptor to read from (the active one's own, else a read-only one)."""
        return self._handles.get(self.log_path, self.writable)

    def retire(self) -> list[Path]:
        """Stop using the segment and rename its files `<file>.deleted` (cheap: the
        unlink of a big file is left to a worker); returns the renamed paths."""
        self.writable = False
        self._handles.evict(self.log_path)
        self.index.forget()
        self.timeindex.forget()
        renamed = []
        for path in self.paths():
            target = path.with_name(path.name + DELETED_SUFFIX)
            try:
                os.replace(path, target)
            except FileNotFoundError:
                continue
            renamed.append(target)
        return renamed

    def delete(self) -> None:
        """Remove the segment's files (an open ReadSlice keeps its own descriptor)."""
        self.writable = False
        self._handles.evict(self.log_path)
        try:
            os.unlink(self.log_path)
        except FileNotFoundError:
            pass
        self.index.delete_file()
        self.timeindex.delete_file()

    # -- appending -------------------------------------------------------------------------
    def write(
        self,
        chunks: Sequence[bytes | bytearray | memoryview],
        batches: Sequence[tuple[int, int, int, int]],
        interval_bytes: int,
        now_ms: int,
    ) -> None:
        """Write whole batches at the end; `batches` are (base, last, max_ts, size) each.

        On an I/O error the file is cut back to its previous size and the error re-raised.
        """
        assert self.writable, "only the active segment takes appends"
        # One descriptor for the whole write: nothing can evict it between these calls.
        fd = self._handles.get(self.log_path, True)
        start = self.size
        pos = start
        try:
            for i in range(0, len(chunks), _IOV_MAX):
                group = list(chunks[i : i + _IOV_MAX])
                total = sum(len(c) for c in group)
                written = os.pwritev(fd, group, pos)
                if written < total:  # short write: finish it the slow way
                    rest = b"".join(bytes(c) for c in group)[written:]
                    while rest:
                        n = os.pwrite(fd, rest, pos + written)
                        written += n
                        rest = rest[n:]
                pos += total
        except OSError:
            os.ftruncate(fd, start)
            raise
        if self.first_append_ms is None:
            self.first_append_ms = now_ms
        for base, last, max_ts, size in batches:
            self._index_batch(base, last, max_ts, size, interval_bytes)
        self.size = pos

    def append_one(
        self,
        prefix: bytes,
        batch: memoryview,
        base: int,
        last: int,
        max_ts: int,
        size: int,
        interval_bytes: int,
        now_ms: int,
    ) -> None:
        """Write one batch whose first 16 bytes are replaced by `prefix` (the patched
        baseOffset, batchLength, epoch), in one pwritev and without copying the batch."""
        assert self.writable, "only the active segment takes appends"
        fd = self._handles.get(self.log_path, True)
        start = self.size
        try:
            written = os.pwritev(fd, (prefix, batch[16:]), start)
            if written < size:  # short write: finish it the slow way
                rest = (prefix + bytes(batch[16:]))[written:]
                while rest:
                    n = os.pwrite(fd, rest, start + written)
                    written += n
                    rest = rest[n:]
        except OSError:
            os.ftruncate(fd, start)
            raise
        if self.first_append_ms is None:
            self.first_append_ms = now_ms
        self._index_batch(base, last, max_ts, size, interval_bytes)

    def _index_batch(self, base: int, last: int, max_ts: int, size: int, interval: int) -> None:
        if max_ts > self.max_timestamp:
            self.max_timestamp = max_ts
            self.offset_of_max_timestamp = last
        if self._bytes_since_index > interval:
            # As Kafka: the batch's last offset, pointing at the batch's position.
            self.index.append(last - self.base_offset, self.size)
            self.timeindex.maybe_append(
                self.max_timestamp, self.offset_of_max_timestamp - self.base_offset
            )
            self._bytes_since_index = 0
        self._bytes_since_index += size
        self.size += size
        self.next_offset = last + 1

    # -- walking batch headers -------------------------------------------------------------
    def header_at(self, fd: int, pos: int) -> BatchHeader:
        """The batch header at a batch boundary."""
        return parse_header(os.pread(fd, HEADER_SIZE, pos))

    def walk(self, fd: int, pos: int, end: int | None = None) -> Iterator[tuple[int, BatchHeader]]:
        """(position, header) of each batch from `pos` (a batch boundary) to `end`."""
        stop = self.size if end is None else end
        while pos < stop:
            header = self.header_at(fd, pos)
            yield pos, header
            pos += header.size

    def headers_from(self, offset: int) -> Iterator[tuple[int, BatchHeader]]:
        """(position, header) of every batch from the one holding `offset` to the end,
        reading headers in chunks and skipping the bodies of large batches unread."""
        found = self.find(offset)
        if found is None:
            return
        pos = found[0]
        fd = self.read_fd()
        stop = self.size
        buf = b""
        buf_pos = pos
        while pos < stop:
            rel = pos - buf_pos
            if rel + HEADER_SIZE > len(buf):
                buf, buf_pos, rel = os.pread(fd, min(HEADER_CHUNK, stop - pos), pos), pos, 0
                if len(buf) < HEADER_SIZE:
                    return
            header = parse_header(buf, rel)
            yield pos, header
            pos += header.size

    def find(self, offset: int) -> tuple[int, BatchHeader] | None:
        """The batch containing `offset`, or the first one after it; None if none here."""
        if offset >= self.next_offset:
            return None
        fd = self.read_fd()
        start = self.index.lookup(max(0, offset - self.base_offset))
        for pos, header in self.walk(fd, start):
            if header.last_offset >= offset:
                return pos, header
        return None

    def read_range(
        self, offset: int, max_bytes: int, *, min_one: bool = True
    ) -> tuple[int, int, int] | None:
        """(start, stop, next offset) of the whole batches to return for a fetch at
        `offset` (see `slice_end`); None if no batch here holds or follows it. With
        `min_one` False, a first batch larger than max_bytes gives an empty range
        (stop == start) instead of that batch."""
        if offset >= self.next_offset:
            return None
        hint = self._read_hint
        first: BatchHeader | None
        if hint is not None and hint[0] == offset:
            _, start, first = hint
        else:
            found = self.find(offset)
            if found is None:
                return None
            start, first = found
        if not min_one and self.size - start > max_bytes:
            if first is None:
                first = self.header_at(self.read_fd(), start)
            if first.size > max_bytes:
                self._read_hint = (offset, start, first)
                return start, start, offset
        stop, next_offset = self.slice_end(start, first, max_bytes)
        self._read_hint = (next_offset, stop, None)
        return start, stop, next_offset

    def slice_end(self, start: int, first: BatchHeader | None, max_bytes: int) -> tuple[int, int]:
        """(end position, next offset) of the longest run of whole batches from `start`
        (a batch boundary, whose header is `first` if already read) within max_bytes, and
        at least the first batch."""
        limit = start + max_bytes
        if self.size <= limit:
            return self.size, self.next_offset
        fd = self.read_fd()
        if first is None:
            first = self.header_at(fd, start)
        end = start + first.size
        next_offset = first.next_offset
        if end >= limit:
            return end, next_offset
        # Jump close to the limit with the index, then walk the few headers left.
        entry = self.index.lookup_position(limit)
        # An indexed batch starts at entry[1]: everything before it is whole batches.
        pos = entry[1] if entry is not None and entry[1] > end else end
        for bpos, header in self.walk(fd, pos):
            if bpos + header.size > limit:
                if bpos > end:
                    end, next_offset = bpos, header.base_offset
                break
            end = bpos + header.size
            next_offset = header.next_offset
        return end, next_offset

    def find_timestamp(self, timestamp: int, min_offset: int) -> tuple[int, int] | None:
        """First (offset, timestamp) at or after `timestamp` with offset >= min_offset."""
        if self.max_timestamp < timestamp:
            return None
        rel = self.timeindex.lookup_before(timestamp)
        start = self.index.lookup(rel) if rel is not None else 0
        fd = self.read_fd()
        for pos, header in self.walk(fd, start):
            if header.max_timestamp < timestamp or header.last_offset < min_offset:
                continue
            for offset, ts in record_stamps(os.pread(fd, header.size, pos)):
                if ts >= timestamp and offset >= min_offset:
                    return offset, ts
        return None

    def read_batch(self, pos: int, size: int) -> bytes:
        """One batch's bytes (for the few paths that decode records)."""
        return os.pread(self.read_fd(), size, pos)

    # -- loading and recovery --------------------------------------------------------------
    def scan(self, fd: int) -> Iterator[tuple[int, BatchHeader | None, str | None]]:
        """Validate every batch (length, magic, CRC) reading the file in large chunks.

        Yields (position, header, None) per valid batch, and finally (position, None,
        reason) at the first invalid byte if there is one.
        """
        file_size = os.fstat(fd).st_size
        pos = 0
        buf = b""
        buf_start = 0
        while pos < file_size:
            rel = pos - buf_start
            if len(buf) - rel < HEADER_SIZE:
                buf, buf_start, rel = os.pread(fd, SCAN_CHUNK, pos), pos, 0
                if len(buf) < HEADER_SIZE:
                    yield pos, None, f"torn batch header at position {pos}"
                    return
            header = parse_header(buf, rel)
            if header.batch_length < MIN_BATCH_LENGTH or pos + header.size > file_size:
                yield pos, None, f"torn or invalid batch length at position {pos}"
                return
            if rel + header.size > len(buf):
                buf, buf_start, rel = os.pread(fd, max(SCAN_CHUNK, header.size), pos), pos, 0
            try:
                validate_batch(buf, rel)
            except CorruptRecordError as exc:
                yield pos, None, f"{exc} (file position {pos})"
                return
            yield pos, header, None
            pos += header.size

    @classmethod
    def scratch_for(cls, segment: Segment, suffix: str) -> Segment:
        """A detached segment over `<name>.log<suffix>`, `.index<suffix>` and
        `.timeindex<suffix>`, for building replacement files on a worker thread: it shares
        no descriptor cache or index LRU with the live segments."""
        scratch = cls(segment.log_path.parent, segment.base_offset, HandleCache(1), None)
        scratch.log_path = segment.log_path.with_name(segment.log_path.name + suffix)
        scratch.index = OffsetIndex(segment.index.path.with_name(segment.index.path.name + suffix))
        scratch.timeindex = TimeIndex(
            segment.timeindex.path.with_name(segment.timeindex.path.name + suffix)
        )
        return scratch

    def paths(self) -> list[Path]:
        """The segment's three files."""
        return [self.log_path, self.index.path, self.timeindex.path]

    def adopt(self, scratch: Segment) -> None:
        """Put a scratch segment's files in place of this (closed) one's and take its
        summary: three atomic renames, no reading (the cleaner's install step)."""
        assert not self.writable, "the active segment is never rewritten"
        self._handles.evict(self.log_path)
        self._read_hint = None
        os.replace(scratch.log_path, self.log_path)
        os.replace(scratch.index.path, self.index.path)
        os.replace(scratch.timeindex.path, self.timeindex.path)
        self.index.adopt_file(scratch.index.count)
        self.timeindex.adopt_file(scratch.timeindex.count)
        self.size = scratch.size
        self.next_offset = scratch.next_offset
        self.max_timestamp = scratch.max_timestamp
        self.offset_of_max_timestamp = scratch.offset_of_max_timestamp
        self._bytes_since_index = scratch._bytes_since_index

    def reset_summary(self) -> None:
        """Forget size, offsets and timestamps before a rescan."""
        self._read_hint = None
        self.size = 0
        self.next_offset = self.base_offset
        self.max_timestamp = -1
        self.offset_of_max_timestamp = -1
        self._bytes_since_index = 0

    def add_scanned(self, header: BatchHeader, interval: int) -> None:
        """Account for a batch found by a scan (rebuilding the indexes as appends would)."""
        self._index_batch(
            header.base_offset,
            header.last_offset,
            header.max_timestamp,
            header.size,
            interval,
        )
        if self.first_append_ms is None:
            self.first_append_ms = header.max_timestamp

    def load_trusted(self, interval: int) -> bool:
        """Load the summary from indexes after a clean shutdown; False if they look wrong.

        Reads only the headers after the last offset-index entry, so opening is cheap.
        """
        try:
            file_size = os.stat(self.log_path).st_size
        except FileNotFoundError:
            return False
        if not self.index.sane() or not self.timeindex.sane():
            return False
        last = self.index.last()
        last_time = self.timeindex.last()
        start = last[1] if last else 0
        if (last and start >= file_size) or (last_time is None and file_size > 0):
            return False
        fd = os.open(self.log_path, os.O_RDONLY)
        try:
            pos = start
            next_offset = self.base_offset
            bytes_since = 0
            first: BatchHeader | None = None
            while pos < file_size:
                if file_size - pos < HEADER_SIZE:
                    return False
                header = self.header_at(fd, pos)
                if header.batch_length < MIN_BATCH_LENGTH or header.magic != 2:
                    return False
                if first is None:
                    first = header
                    # The last index entry names this batch's last offset (as appends
                    # write it): anything else means the index describes another file.
                    if last and header.last_offset != self.base_offset + last[0]:
                        return False
                next_offset = header.next_offset
                bytes_since += header.size
                pos += header.size
            if pos != file_size:
                return False
            if first is None and file_size:
                return False
            if last_time is not None and self.base_offset + last_time[1] >= next_offset:
                return False  # the time index names an offset past the segment's end
            if file_size and self.first_append_ms is None:
                self.first_append_ms = self.header_at(fd, 0).max_timestamp
        finally:
            os.close(fd)
        self.size = file_size
        self.next_offset = next_offset
        self._bytes_since_index = bytes_since
        if last_time is not None:
            self.max_timestamp = last_time[0]
            self.offset_of_max_timestamp = self.base_offset + last_time[1]
        self.index.unload()
        self.timeindex.unload()
        return True
