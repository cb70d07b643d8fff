"""Wire primitives shared by the hand-written response encoders.

Owns the unsigned varint of Kafka's flexible versions, (compact) array lengths and
strings, and the response frame around a body. It must never know about any particular
message.
"""

from __future__ import annotations

import struct

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_HEADER_V0 = struct.Struct(">i")
_HEADER_V1 = struct.Struct(">iB")  # correlation id + empty tagged fields


def uvarint(value: int) -> bytes:
    """Unsigned LEB128 varint, as compact arrays and strings use for their lengths."""
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def length(n: int, flexible: bool) -> bytes:
    """An array length: int32, or unsigned varint n+1 in flexible versions."""
    return uvarint(n + 1) if flexible else _I32.pack(n)


def nullable_length(n: int | None, flexible: bool) -> bytes:
    """A nullable array's length (None: a null array)."""
    if flexible:
        return uvarint(0 if n is None else n + 1)
    return _I32.pack(-1 if n is None else n)


def string(value: str, flexible: bool) -> bytes:
    """A (compact) string."""
    raw = value.encode()
    return (uvarint(len(raw) + 1) if flexible else _I16.pack(len(raw))) + raw


def nullable(value: str | None, flexible: bool) -> bytes:
    """A (compact) nullable string."""
    if value is None:
        return b"\x00" if flexible else b"\xff\xff"
    return string(value, flexible)


def frame(correlation_id: int, flexible: bool, body: list[bytes]) -> bytes:
    """Length prefix, response header (v1 with empty tags when flexible), then `body`."""
    header = _HEADER_V1.pack(correlation_id, 0) if flexible else _HEADER_V0.pack(correlation_id)
    payload = b"".join([header, *body])
    return _I32.pack(len(payload)) + payload
