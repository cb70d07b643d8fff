"""Kafka's size-prefixed framing: a 4-byte big-endian length, then that many bytes.

Owns the length-prefix rules (checked BEFORE a body is read, so a hostile prefix never
makes anyone allocate it). It must never read or write sockets.
"""

from __future__ import annotations

import struct

from logstore.protocol.errors import FrameTooLargeError

_LENGTH = struct.Struct(">i")
LENGTH_PREFIX_BYTES = _LENGTH.size

# Smallest legal request: api_key(2) + api_version(2) + correlation_id(4).
MIN_REQUEST_BYTES = 8


def parse_length(prefix: bytes, max_bytes: int) -> int:
    """Return the body length announced by a 4-byte prefix, or raise FrameTooLargeError."""
    (length,) = _LENGTH.unpack(prefix)
    if length < MIN_REQUEST_BYTES or length > max_bytes:
        raise FrameTooLargeError(f"frame length {length} outside {MIN_REQUEST_BYTES}..{max_bytes}")
    return length


def frame(body: bytes) -> bytes:
    """Prefix `body` with its length."""
    return _LENGTH.pack(len(body)) + body
