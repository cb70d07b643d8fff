"""Sparse segment indexes: `.index` (offset -> file position) and `.timeindex` (time -> offset).

On disk, as in Kafka:
  `.index`      8-byte entries: relative offset (uint32), file position (uint32), big-endian
  `.timeindex` 12-byte entries: max timestamp so far (int64), relative offset (uint32)
Entries are strictly increasing in every field, so every lookup is a binary search.

Owns the entry format, lazy loading, the sanity check a clean open relies on (`sane`) and
the LRU that unloads the indexes of closed segments. It must never read the `.log` file
(the segment scans batches) and never be trusted after an unclean shutdown, or when `sane`
fails after a clean one: recovery rebuilds indexes instead.
"""

from __future__ import annotations

import os
import struct
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from pathlib import Path


class SparseIndex:
    """Entries live in two typed arrays (one per field), loaded lazily from the file, so
    lookups are C-speed `bisect`s; new entries are written out on flush.

    The active segment's index stays loaded (bounded by `segment.index.bytes`); closed
    segments' indexes are loaded on lookup and unloaded by `IndexLru`.
    """

    ENTRY = struct.Struct(">II")
    FIELDS = "II"  # struct codes of the two fields, big-endian on disk
    TYPECODES = ("I", "I")  # array typecodes of the two columns in memory

    def __init__(self, path: Path, lru: IndexLru | None = None) -> None:
        self.path = path
        self._lru = lru
        self._cols: tuple[array[int], array[int]] | None = None
        # Entries, kept current while loaded (the active segment's index always is), so
        # the append path can check segment.index.bytes without calls.
        self.count = 0
        self._persisted = 0  # entries already written to the file
        self._on_disk = False  # the file exists (an empty index still gets its file)

    # -- loading ---------------------------------------------------------------------------
    def _columns(self) -> tuple[array[int], array[int]]:
        if self._cols is None:
            try:
                data = self.path.read_bytes()
            except FileNotFoundError:
                data = b""
            count = len(data) // self.ENTRY.size
            flat = struct.unpack(">" + self.FIELDS * count, data[: count * self.ENTRY.size])
            self._cols = (
                array(self.TYPECODES[0], flat[0::2]),
                array(self.TYPECODES[1], flat[1::2]),
            )
            self._persisted = self.count = count
            self._on_disk = count * self.ENTRY.size == len(data) and self.path.exists()
        if self._lru is not None:
            self._lru.touch(self)
        return self._cols

    def pin(self) -> None:
        """Keep this index loaded (active segment): it leaves the LRU."""
        self._columns()
        if self._lru is not None:
            self._lru.forget(self)
            self._lru = None

    def unpin(self, lru: IndexLru | None) -> None:
        """Hand a closed segment's index to the LRU and drop it from memory for now."""
        self.unload()
        self._lru = lru

    def unload(self) -> None:
        """Write pending entries and free the memory."""
        self.flush()
        self._cols = None

    @property
    def loaded(self) -> bool:
        """Whether the entries are in memory right now."""
        return self._cols is not None

    def __len__(self) -> int:
        return len(self._columns()[0])

    @property
    def size_bytes(self) -> int:
        """Bytes of entries (what segment.index.bytes bounds)."""
        return len(self) * self.ENTRY.size

    def entry(self, i: int) -> tuple[int, int]:
        """The i-th entry, fields in file order."""
        first, second = self._columns()
        return first[i], second[i]

    def last(self) -> tuple[int, int] | None:
        """The last entry, None if empty."""
        n = len(self)
        return self.entry(n - 1) if n else None

    def sane(self) -> bool:
        """Can the file be trusted after a clean shutdown? As Kafka's sanityCheck, its
        length must be a multiple of the entry size; and both fields must be strictly
        increasing (checked by C-speed sort and set, not a Python loop per entry).
        The caller checks that the last entry lies within the segment."""
        try:
            length = os.stat(self.path).st_size
        except FileNotFoundError:
            return False
        if length % self.ENTRY.size:
            return False
        for column in self._columns():
            values = column.tolist()
            if values != sorted(values) or len(set(values)) != len(values):
                return False
        return True

    # -- writing ---------------------------------------------------------------------------
    def _append(self, a: int, b: int) -> None:
        first, second = self._cols or self._columns()
        first.append(a)
        second.append(b)
        self.count += 1

    def flush(self) -> None:
        """Write entries not yet on disk (no fsync: indexes are rebuilt after a crash)."""
        if self._cols is None:
            return
        first, second = self._cols
        count = len(first)
        if self._persisted == count and self._on_disk:
            return
        pending = count - self._persisted
        flat: list[int] = [0] * (2 * pending)
        flat[0::2] = first[self._persisted :]
        flat[1::2] = second[self._persisted :]
        data = struct.pack(">" + self.FIELDS * pending, *flat)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.pwrite(fd, data, self._persisted * self.ENTRY.size)
            os.ftruncate(fd, count * self.ENTRY.size)
        finally:
            os.close(fd)
        self._persisted = count
        self._on_disk = True

    def reset(self) -> None:
        """Forget every entry (before a rebuild)."""
        self._cols = (array(self.TYPECODES[0]), array(self.TYPECODES[1]))
        self._persisted = self.count = 0
        self._on_disk = False
        try:
            os.truncate(self.path, 0)
        except FileNotFoundError:
            pass

    def adopt_file(self, count: int) -> None:
        """The file was just replaced by a complete one of `count` entries: drop what is
        in memory without writing it (it describes the old file)."""
        self._cols = None
        self.count = self._persisted = count
        self._on_disk = True

    def forget(self) -> None:
        """Drop the entries without writing them (the file is being retired)."""
        if self._lru is not None:
            self._lru.forget(self)
        self._cols = None

    def delete_file(self) -> None:
        """Forget the entries and unlink the file."""
        if self._lru is not None:
            self._lru.forget(self)
        self._cols = None
        self._on_disk = False
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    # -- searching -------------------------------------------------------------------------
    def _floor(self, key: int, field: int, strict: bool = False) -> int:
        """Index of the last entry whose field is <= key (< key if strict), or -1."""
        column = self._columns()[field]
        return (bisect_left(column, key) if strict else bisect_right(column, key)) - 1


class OffsetIndex(SparseIndex):
    """Relative last offset of a batch -> the batch's position in the `.log` file.

    As in Kafka, an entry names the batch's last offset, so Kafka's own DumpLogSegments
    verifies our indexes; a lookup lands on a batch at or before the target.
    """

    ENTRY = struct.Struct(">II")
    FIELDS = "II"
    TYPECODES = ("I", "I")

    def append(self, relative_offset: int, position: int) -> None:
        """Add an entry; both fields must exceed the last entry's."""
        self._append(relative_offset, position)

    def lookup(self, relative_offset: int) -> int:
        """Position of the last indexed batch ending at or before the offset (0 if none):
        the batch holding the offset is there or after it."""
        i = self._floor(relative_offset, 0)
        return 0 if i < 0 else self.entry(i)[1]

    def upper_bound(self, position: int) -> int | None:
        """Relative offset of the first entry at or past `position` (Kafka's
        fetchUpperBoundOffset), None if there is none."""
        i = self._floor(position, 1, strict=True) + 1
        return self.entry(i)[0] if i < len(self) else None

    def lookup_position(self, position: int) -> tuple[int, int] | None:
        """The last entry whose position is <= position, as (relative offset, position)."""
        i = self._floor(position, 1)
        return None if i < 0 else self.entry(i)


class TimeIndex(SparseIndex):
    """Largest timestamp seen so far -> relative offset of the record that carried it."""

    ENTRY = struct.Struct(">qI")
    FIELDS = "qI"
    TYPECODES = ("q", "I")

    def maybe_append(self, timestamp: int, relative_offset: int) -> None:
        """Add an entry only if it moves the maximum timestamp forward."""
        times, offsets = self._cols or self._columns()
        if not times or (timestamp > times[-1] and relative_offset > offsets[-1]):
            self._append(timestamp, relative_offset)

    def lookup_before(self, timestamp: int) -> int | None:
        """Relative offset of the last entry with a timestamp strictly below `timestamp`."""
        i = self._floor(timestamp, 0, strict=True)
        return None if i < 0 else self.entry(i)[1]


class IndexLru:
    """Bounds how many closed-segment indexes are in memory across all partitions."""

    def __init__(self, capacity: int = 512) -> None:
        self.capacity = capacity
        self._loaded: OrderedDict[int, SparseIndex] = OrderedDict()

    def touch(self, index: SparseIndex) -> None:
        """Mark an index as just used, unloading the least recently used beyond capacity."""
        key = id(index)
        if key in self._loaded:
            self._loaded.move_to_end(key)
            return
        self._loaded[key] = index
        while len(self._loaded) > self.capacity:
            _, old = self._loaded.popitem(last=False)
            old.unload()

    def forget(self, index: SparseIndex) -> None:
        """Stop tracking an index (pinned or deleted)."""
        self._loaded.pop(id(index), None)

    def __len__(self) -> int:
        return len(self._loaded)
