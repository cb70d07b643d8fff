"""Individual records inside a RecordBatch v2: varints, decoding and encoding.

Owns the per-record layout (length, attributes, timestamp delta, offset delta, key, value,
headers). It must never be used on the produce or fetch path: only compaction, compacted-key
validation, timestamp lookups and tests decode records.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

import crc32c

from logstore.records.codecs import compress, decompress
from logstore.records.errors import CorruptRecordError
from logstore.records.header import (
    ATTR_CONTROL,
    ATTR_DELETE_HORIZON,
    ATTR_TIMESTAMP_TYPE,
    ATTR_TRANSACTIONAL,
    CRC_START,
    HEADER,
    HEADER_SIZE,
    LOG_OVERHEAD,
    BatchHeader,
    Buffer,
    parse_header,
)

Headers = Sequence[tuple[str, bytes | None]]


class Record(NamedTuple):
    """One decoded record with its absolute offset and timestamp."""

    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]


def _read_varint(buf: Buffer, pos: int) -> tuple[int, int]:
    """Zig-zag varint (Kafka's signed varint/varlong) at pos -> (value, next position)."""
    shift = 0
    raw = 0
    while True:
        if pos >= len(buf):
            raise CorruptRecordError("varint runs past the end of the batch")
        byte = buf[pos]
        pos += 1
        raw |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (raw >> 1) ^ -(raw & 1), pos
        shift += 7
        if shift > 63:
            raise CorruptRecordError("varint longer than 10 bytes")


def encode_varint(value: int) -> bytes:
    """Zig-zag encode a signed 64-bit value."""
    raw = ((value << 1) ^ (value >> 63)) & 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while raw >= 0x80:
        out.append((raw & 0x7F) | 0x80)
        raw >>= 7
    out.append(raw)
    return bytes(out)


def _read_bytes(buf: Buffer, pos: int) -> tuple[bytes | None, int]:
    length, pos = _read_varint(buf, pos)
    if length < 0:
        return None, pos
    end = pos + length
    if end > len(buf):
        raise CorruptRecordError("record field runs past the end of the batch")
    return bytes(buf[pos:end]), end


def decode_records(batch: Buffer) -> list[Record]:
    """Decode every record of one batch (decompressing if needed)."""
    header = parse_header(batch, 0)
    view = memoryview(batch)[HEADER_SIZE : header.size]
    body = decompress(header.compression, view) if header.compression else view
    log_append = header.timestamp_type == 1
    records: list[Record] = []
    pos = 0
    for _ in range(header.records_count):
        length, pos = _read_varint(body, pos)
        end = pos + length
        if length < 0 or end > len(body):
            raise CorruptRecordError("record length runs past the end of the batch")
        pos += 1  # record attributes: unused in v2
        ts_delta, pos = _read_varint(body, pos)
        offset_delta, pos = _read_varint(body, pos)
        key, pos = _read_bytes(body, pos)
        value, pos = _read_bytes(body, pos)
        count, pos = _read_varint(body, pos)
        headers: list[tuple[str, bytes | None]] = []
        for _h in range(count):
            hkey, pos = _read_bytes(body, pos)
            hval, pos = _read_bytes(body, pos)
            headers.append(((hkey or b"").decode("utf-8", "replace"), hval))
        if pos != end:
            raise CorruptRecordError("record length does not match its fields")
        timestamp = header.max_timestamp if log_append else header.base_timestamp + ts_delta
        records.append(Record(header.base_offset + offset_delta, timestamp, key, value, headers))
    return records


def record_stamps(batch: Buffer) -> Iterator[tuple[int, int]]:
    """(offset, timestamp) of each record of one batch, in order, reading only the fields
    those need (timestamp lookups stop at the first match; keys, values and headers are
    skipped by the record's length, never copied)."""
    header = parse_header(batch, 0)
    view = memoryview(batch)[HEADER_SIZE : header.size]
    body = decompress(header.compression, view) if header.compression else view
    log_append = header.timestamp_type == 1
    base_offset, base_ts, max_ts = header.base_offset, header.base_timestamp, header.max_timestamp
    size = len(body)
    pos = 0
    for _ in range(header.records_count):
        length, pos = _read_varint(body, pos)
        end = pos + length
        if length < 0 or end > size:
            raise CorruptRecordError("record length runs past the end of the batch")
        ts_delta, after = _read_varint(body, pos + 1)  # past the unused attributes byte
        offset_delta, _ = _read_varint(body, after)
        yield base_offset + offset_delta, max_ts if log_append else base_ts + ts_delta
        pos = end


def _encode_record(
    offset_delta: int, ts_delta: int, key: bytes | None, value: bytes | None, headers: Headers
) -> bytes:
    parts = [b"\x00", encode_varint(ts_delta), encode_varint(offset_delta)]
    for field in (key, value):
        if field is None:
            parts.append(encode_varint(-1))
        else:
            parts.append(encode_varint(len(field)))
            parts.append(field)
    parts.append(encode_varint(len(headers)))
    for hkey, hval in headers:
        raw = hkey.encode()
        parts.append(encode_varint(len(raw)))
        parts.append(raw)
        if hval is None:
            parts.append(encode_varint(-1))
        else:
            parts.append(encode_varint(len(hval)))
            parts.append(hval)
    body = b"".join(parts)
    return encode_varint(len(body)) + body


class RecordEntry(NamedTuple):
    """A record to encode: its offset delta and timestamp are explicit (used by the cleaner)."""

    offset_delta: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: Headers = ()


def encode_batch(
    entries: Sequence[RecordEntry],
    *,
    base_offset: int = 0,
    last_offset_delta: int | None = None,
    codec: int = 0,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    transactional: bool = False,
    control: bool = False,
    timestamp_type: int = 0,
    max_timestamp: int | None = None,
    partition_leader_epoch: int = 0,
    level: int | None = None,
    delete_horizon_ms: int | None = None,
) -> bytes:
    """Encode a RecordBatch v2 from explicit entries (offset deltas need not be contiguous);
    `level` is the compression level (None: the codec's default). A `delete_horizon_ms`
    takes baseTimestamp's place (as Kafka's cleaner writes it): record timestamps keep
    their values as deltas from it."""
    if entries:
        base_ts = entries[0].timestamp
        max_ts = max(e.timestamp for e in entries)
        last_delta = entries[-1].offset_delta
    else:
        base_ts = max_ts = -1
        last_delta = 0
    if delete_horizon_ms is not None:
        base_ts = delete_horizon_ms
    elif not entries and max_timestamp is not None:
        base_ts = max_timestamp  # an emptied batch, as Kafka's cleaner writes its header
    if last_offset_delta is not None:
        last_delta = last_offset_delta
    if max_timestamp is not None:
        max_ts = max_timestamp
    body = b"".join(
        _encode_record(e.offset_delta, e.timestamp - base_ts, e.key, e.value, e.headers)
        for e in entries
    )
    if codec:
        body = compress(codec, body, level)
    attributes = codec
    if timestamp_type:
        attributes |= ATTR_TIMESTAMP_TYPE
    if transactional:
        attributes |= ATTR_TRANSACTIONAL
    if control:
        attributes |= ATTR_CONTROL
    if delete_horizon_ms is not None:
        attributes |= ATTR_DELETE_HORIZON
    batch_length = HEADER_SIZE - LOG_OVERHEAD + len(body)
    head = bytearray(
        HEADER.pack(
            base_offset,
            batch_length,
            partition_leader_epoch,
            2,
            0,
            attributes,
            last_delta,
            base_ts,
            max_ts,
            producer_id,
            producer_epoch,
            base_sequence,
            len(entries),
        )
    )
    crc = crc32c.crc32c(memoryview(head)[CRC_START:])
    crc = crc32c.crc32c(body, crc)
    struct.pack_into(">I", head, 17, crc)
    return bytes(head) + body


def rebuild_batch(
    header: BatchHeader,
    records: Sequence[Record],
    *,
    codec: int,
    level: int | None = None,
    delete_horizon_ms: int | None = None,
) -> bytes:
    """The batch `header` describes holding only `records` (decoded from it), in `codec`:
    its offsets, producer fields, timestamp type and max timestamp unchanged."""
    return encode_batch(
        [
            RecordEntry(r.offset - header.base_offset, r.timestamp, r.key, r.value, r.headers)
            for r in records
        ],
        base_offset=header.base_offset,
        last_offset_delta=header.last_offset_delta,
        codec=codec,
        producer_id=header.producer_id,
        producer_epoch=header.producer_epoch,
        base_sequence=header.base_sequence,
        transactional=header.is_transactional,
        control=header.is_control,
        timestamp_type=header.timestamp_type,
        max_timestamp=header.max_timestamp,
        partition_leader_epoch=header.partition_leader_epoch,
        level=level,
        delete_horizon_ms=delete_horizon_ms,
    )


RecordInput = tuple[bytes | None, bytes | None] | tuple[bytes | None, bytes | None, Headers]


def build_batch(
    records: Iterable[RecordInput],
    *,
    base_offset: int = 0,
    codec: int = 0,
    timestamp: int = 0,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    transactional: bool = False,
    timestamp_type: int = 0,
    timestamps: Sequence[int] | None = None,
) -> bytes:
    """Build one batch from (key, value[, headers]) tuples with contiguous offsets.

    Every record gets `timestamp` unless `timestamps` gives one per record. For tests,
    benches and the internal topics (committed offsets).
    """
    entries = []
    for i, item in enumerate(records):
        headers: Headers = item[2] if len(item) > 2 else ()
        ts = timestamps[i] if timestamps is not None else timestamp
        entries.append(RecordEntry(i, ts, item[0], item[1], headers))
    return encode_batch(
        entries,
        base_offset=base_offset,
        codec=codec,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_sequence=base_sequence,
        transactional=transactional,
        timestamp_type=timestamp_type,
    )
