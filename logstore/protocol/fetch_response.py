"""A hand-written Fetch response (v4–v12) encoder that never copies record bytes.

kio copies the records into its output (~1 ms per MB), so the hot path encodes only the
envelope here and leaves each partition's records as an opaque part the server sends
straight from the segment file. `tests/logstore/protocol` checks the bytes against kio.
It must never do I/O nor look inside the records: a part only needs a `size`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from logstore.protocol.primitives import nullable_length, string, uvarint

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_PARTITION_HEAD = struct.Struct(">ihqq")  # index, error, high watermark, last stable offset
_I64 = struct.Struct(">q")
MAX_FETCH_VERSION = 12
MIN_FETCH_VERSION = 4


class Sized(Protocol):
    """Anything the server knows how to send: it only has to announce its byte count."""

    @property
    def size(self) -> int: ...


@dataclass(slots=True)
class FetchPartitionOut:
    partition: int
    error_code: int = 0
    high_watermark: int = -1
    last_stable_offset: int = -1
    log_start_offset: int = -1
    # An empty tuple encodes as "no aborted transactions"; None as a null array.
    aborted: tuple[tuple[int, int], ...] | None = None
    records: Sequence[Sized] = ()  # concatenated in order; empty = zero-length bytes


@dataclass(slots=True)
class FetchTopicOut:
    topic: str
    partitions: list[FetchPartitionOut] = field(default_factory=list)


def encode_fetch_response(
    version: int,
    correlation_id: int,
    topics: Sequence[FetchTopicOut],
    *,
    throttle_time_ms: int = 0,
    error_code: int = 0,
    session_id: int = 0,
) -> tuple[list[bytes | Sized], int]:
    """Return (parts, total) where parts start with the 4-byte frame length.

    Parts are either envelope bytes or the record objects given in `records`, in wire
    order; `total` is the number of bytes the parts add up to, prefix included.
    """
    if not MIN_FETCH_VERSION <= version <= MAX_FETCH_VERSION:
        raise ValueError(f"fetch v{version} is not encoded here")
    flexible = version >= 12
    parts: list[bytes | Sized] = []
    buf = bytearray()
    buf += _I32.pack(correlation_id)
    if flexible:
        buf.append(0)  # response header v1: empty tagged fields
    buf += _I32.pack(throttle_time_ms)
    if version >= 7:
        buf += _I16.pack(error_code)
        buf += _I32.pack(session_id)
    buf += nullable_length(len(topics), flexible)
    size = 0
    for topic in topics:
        buf += string(topic.topic, flexible)
        buf += nullable_length(len(topic.partitions), flexible)
        for p in topic.partitions:
            buf += _PARTITION_HEAD.pack(
                p.partition, p.error_code, p.high_watermark, p.last_stable_offset
            )
            if version >= 5:
                buf += _I64.pack(p.log_start_offset)
            if p.aborted is None:
                buf += nullable_length(None, flexible)
            else:
                buf += nullable_length(len(p.aborted), flexible)
                for producer_id, first_offset in p.aborted:
                    buf += struct.pack(">qq", producer_id, first_offset)
                    if flexible:
                        buf.append(0)
            if version >= 11:
                buf += _I32.pack(-1)  # preferred_read_replica: we are the only one
            records_size = sum(r.size for r in p.records)
            buf += uvarint(records_size + 1) if flexible else _I32.pack(records_size)
            if records_size:
                parts.append(bytes(buf))
                size += len(buf)
                buf = bytearray()
                for r in p.records:
                    if r.size:
                        parts.append(r)
                        size += r.size
            if flexible:
                buf.append(0)
        if flexible:
            buf.append(0)
    if flexible:
        buf.append(0)
    parts.append(bytes(buf))
    size += len(buf)
    # The length prefix rides with the first envelope bytes: one write, not two.
    first = parts[0]
    assert isinstance(first, bytes)  # the envelope always opens the reply
    parts[0] = _I32.pack(size) + first
    return parts, size + 4
