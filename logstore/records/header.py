"""The 61-byte RecordBatch v2 header: parsing, validation, splitting and in-place patching.

Owns the batch layout (offsets of every field, which bytes the CRC covers). It must never
look at individual records: everything here is O(1) Python work per batch, with the CRC
computed by the `crc32c` C extension over the whole batch body.

Layout (big-endian), as in Kafka's DefaultRecordBatch:

    0  baseOffset            int64      (rewritten by the broker, outside the CRC)
    8  batchLength           int32      bytes after this field
   12  partitionLeaderEpoch  int32      (rewritten by the broker, outside the CRC)
   16  magic                 int8       always 2
   17  crc                   uint32     CRC-32C of bytes 21..end
   21  attributes            int16      codec:3 | timestampType:1 | transactional:1 | control:1
                                        | deleteHorizon:1 (KIP-534: baseTimestamp is the horizon)
   23  lastOffsetDelta       int32
   27  baseTimestamp         int64
   35  maxTimestamp          int64
   43  producerId            int64
   51  producerEpoch         int16
   53  baseSequence          int32
   57  recordsCount          int32
   61  records...
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import NamedTuple

import crc32c

from logstore.records.errors import CorruptRecordError

HEADER = struct.Struct(">qiibIhiqqqhii")
HEADER_SIZE = HEADER.size  # 61
LOG_OVERHEAD = 12  # baseOffset + batchLength: the bytes not counted in batchLength
CRC_START = 21
MIN_BATCH_LENGTH = HEADER_SIZE - LOG_OVERHEAD

ATTR_COMPRESSION_MASK = 0x07
ATTR_TIMESTAMP_TYPE = 0x08
ATTR_TRANSACTIONAL = 0x10
ATTR_CONTROL = 0x20
ATTR_DELETE_HORIZON = 0x40

_PREFIX = struct.Struct(">qii")  # baseOffset, batchLength, partitionLeaderEpoch
_OFFSET = struct.Struct(">q")
_CRC = struct.Struct(">I")
_ATTRS = struct.Struct(">h")


class BatchHeader(NamedTuple):
    """The fixed fields of one RecordBatch v2, straight from `HEADER.unpack_from`."""

    base_offset: int
    batch_length: int
    partition_leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    records_count: int

    @property
    def compression(self) -> int:
        """0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd."""
        return self.attributes & ATTR_COMPRESSION_MASK

    @property
    def timestamp_type(self) -> int:
        """0 CreateTime, 1 LogAppendTime."""
        return 1 if self.attributes & ATTR_TIMESTAMP_TYPE else 0

    @property
    def is_transactional(self) -> bool:
        """Written inside a transaction."""
        return bool(self.attributes & ATTR_TRANSACTIONAL)

    @property
    def is_control(self) -> bool:
        """A control batch (transaction commit/abort marker)."""
        return bool(self.attributes & ATTR_CONTROL)

    @property
    def delete_horizon_ms(self) -> int | None:
        """When the cleaner may drop this batch's tombstones or this marker (KIP-534: set by
        the cleaner, stored in baseTimestamp so it survives restarts), None if not set."""
        return self.base_timestamp if self.attributes & ATTR_DELETE_HORIZON else None

    @property
    def last_offset(self) -> int:
        """Offset of the batch's last record."""
        return self.base_offset + self.last_offset_delta

    @property
    def next_offset(self) -> int:
        """The offset right after this batch."""
        return self.base_offset + self.last_offset_delta + 1

    @property
    def size(self) -> int:
        """Bytes the whole batch occupies on disk and on the wire."""
        return self.batch_length + LOG_OVERHEAD


Buffer = bytes | bytearray | memoryview


def parse_header(buf: Buffer, pos: int = 0) -> BatchHeader:
    """Unpack the header at `pos` without any validation (CorruptRecordError if too short)."""
    if len(buf) - pos < HEADER_SIZE:
        raise CorruptRecordError(f"batch header truncated at position {pos}")
    return BatchHeader._make(HEADER.unpack_from(buf, pos))


def validate_batch(buf: Buffer, pos: int = 0) -> BatchHeader:
    """Check length, magic and CRC-32C of the batch at `pos`; return its header.

    Raises CorruptRecordError for a short buffer, a length that runs past the buffer, a
    magic other than 2 or a CRC mismatch.
    """
    header = parse_header(buf, pos)
    if header.batch_length < MIN_BATCH_LENGTH:
        raise CorruptRecordError(f"batch length {header.batch_length} too small at {pos}")
    end = pos + LOG_OVERHEAD + header.batch_length
    if end > len(buf):
        raise CorruptRecordError(f"batch at {pos} is torn: needs {end - pos} bytes")
    if header.magic != 2:
        raise CorruptRecordError(f"unsupported magic {header.magic} at {pos}")
    if header.last_offset_delta < 0 or header.records_count < 0:
        raise CorruptRecordError(f"negative record count or offset delta at {pos}")
    view = buf if isinstance(buf, memoryview) else memoryview(buf)
    if crc32c.crc32c(view[pos + CRC_START : end]) != header.crc:
        raise CorruptRecordError(f"CRC-32C mismatch in batch at {pos}")
    return header


def iter_headers(buf: Buffer) -> Iterator[tuple[int, BatchHeader]]:
    """Yield (position, header) for each batch in concatenated batches, without CRC checks.

    Stops at the first incomplete batch (the caller decides whether a tail is an error).
    """
    pos = 0
    n = len(buf)
    while n - pos >= HEADER_SIZE:
        header = BatchHeader._make(HEADER.unpack_from(buf, pos))
        if header.batch_length < MIN_BATCH_LENGTH or pos + header.size > n:
            return
        yield pos, header
        pos += header.size


def split_batches(data: Buffer) -> list[memoryview]:
    """Split concatenated batches into views, validating each (CorruptRecordError if torn)."""
    view = memoryview(data)
    out: list[memoryview] = []
    pos = 0
    n = len(view)
    while pos < n:
        header = validate_batch(view, pos)
        out.append(view[pos : pos + header.size])
        pos += header.size
    return out


def encode_prefix(base_offset: int, batch_length: int, leader_epoch: int = 0) -> bytes:
    """The 12+4 bytes the broker rewrites on append: baseOffset, batchLength, leaderEpoch."""
    return _PREFIX.pack(base_offset, batch_length, leader_epoch)


def set_base_offset(buf: bytearray | memoryview, pos: int, base_offset: int) -> None:
    """Patch baseOffset in place (outside the CRC, so no recomputation)."""
    _OFFSET.pack_into(buf, pos, base_offset)


def set_log_append_time(buf: bytearray | memoryview, pos: int, timestamp: int) -> None:
    """Stamp LogAppendTime: set the attribute bit and maxTimestamp, then recompute the CRC."""
    header = parse_header(buf, pos)
    _ATTRS.pack_into(buf, pos + 21, header.attributes | ATTR_TIMESTAMP_TYPE)
    _OFFSET.pack_into(buf, pos + 35, timestamp)
    view = buf if isinstance(buf, memoryview) else memoryview(buf)
    crc = crc32c.crc32c(view[pos + CRC_START : pos + header.size])
    _CRC.pack_into(buf, pos + 17, crc)
