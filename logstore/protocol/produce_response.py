"""A hand-written Produce response (v3–v11) encoder for the produce hot path.

kio's generic writer spends most of a small produce request's time checking types; this
writes the same bytes with a few `struct` calls. `tests/logstore/protocol` checks it
byte-for-byte against kio for every version. It must never do I/O.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import NamedTuple

from logstore.protocol.primitives import nullable_length, string

_HEAD = struct.Struct(">ihq")  # index, error code, base offset
_I64 = struct.Struct(">q")
_I32 = struct.Struct(">i")
_I16 = struct.Struct(">h")
MIN_PRODUCE_VERSION = 3
MAX_PRODUCE_VERSION = 11


class PartitionResult(NamedTuple):
    partition: int
    error_code: int = 0
    base_offset: int = -1
    log_append_time: int = -1
    log_start_offset: int = -1
    error_message: str | None = None
    # (index of the record in its batch, message) of each record that caused the
    # refusal (KIP-467, v8+).
    record_errors: Sequence[tuple[int, str | None]] = ()


def _nullablestring(value: str | None, flexible: bool) -> bytes:
    if value is None:
        return b"\x00" if flexible else _I16.pack(-1)
    return string(value, flexible)


def encode_produce_response(
    version: int,
    correlation_id: int,
    topics: Sequence[tuple[str, Sequence[PartitionResult]]],
    *,
    throttle_time_ms: int = 0,
) -> bytes:
    """A complete, length-prefixed Produce response frame."""
    if not MIN_PRODUCE_VERSION <= version <= MAX_PRODUCE_VERSION:
        raise ValueError(f"produce v{version} is not encoded here")
    flexible = version >= 9
    out = bytearray(b"\x00\x00\x00\x00")  # length, patched at the end
    out += _I32.pack(correlation_id)
    if flexible:
        out.append(0)
    out += nullable_length(len(topics), flexible)
    for name, partitions in topics:
        out += string(name, flexible)
        out += nullable_length(len(partitions), flexible)
        for p in partitions:
            out += _HEAD.pack(p.partition, p.error_code, p.base_offset)
            out += _I64.pack(p.log_append_time)
            if version >= 5:
                out += _I64.pack(p.log_start_offset)
            if version >= 8:
                out += nullable_length(len(p.record_errors), flexible)
                for index, message in p.record_errors:
                    out += _I32.pack(index)
                    out += _nullablestring(message, flexible)
                    if flexible:
                        out.append(0)
                out += _nullablestring(p.error_message, flexible)
            if flexible:
                out.append(0)
        if flexible:
            out.append(0)
    out += _I32.pack(throttle_time_ms)
    if flexible:
        out.append(0)
    struct.pack_into(">i", out, 0, len(out) - 4)
    return bytes(out)
