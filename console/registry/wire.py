"""Confluent's wire format: magic byte 0, a big-endian int32 schema id, then (Protobuf only)
the message-index path as zig-zag varints, then the encoded payload.

Owns framing only, as pure functions of bytes; it must never look a schema up.
"""

from __future__ import annotations

from dataclasses import dataclass

MAGIC = 0
HEADER = 5


@dataclass(frozen=True)
class Framed:
    schema_id: int
    payload: bytes


def unframe(raw: bytes) -> Framed | None:
    """The schema id and the bytes after it, or None when `raw` is not in the wire format."""
    if len(raw) < HEADER or raw[0] != MAGIC:
        return None
    return Framed(int.from_bytes(raw[1:HEADER], "big"), raw[HEADER:])


def frame(schema_id: int, payload: bytes, indexes: bytes = b"") -> bytes:
    return bytes([MAGIC]) + schema_id.to_bytes(4, "big") + indexes + payload


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data):
            raise ValueError("truncated varint in the message-index path")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (value >> 1) ^ -(value & 1), at
        shift += 7


def message_indexes(payload: bytes) -> tuple[list[int], bytes]:
    """The Protobuf message-index path and the message bytes after it.

    A lone 0 is the common shorthand for the first top-level message ([0]).
    """
    count, at = _varint(payload, 0)
    if count == 0:
        return [0], payload[at:]
    if not 0 < count <= 100:
        raise ValueError(f"implausible message-index count {count}")
    path = []
    for _ in range(count):
        index, at = _varint(payload, at)
        path.append(index)
    return path, payload[at:]
