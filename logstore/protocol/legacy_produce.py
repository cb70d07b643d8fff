"""Produce v0–2, which kio does not model: parsed just enough to refuse it politely.

We advertise Produce from v0 because librdkafka looks for it, but we store only
RecordBatch v2 (magic 2), which needs Produce v3+. A v0–2 request is answered with
UNSUPPORTED_VERSION for every partition it names. Owns only those bytes; no I/O.
"""

from __future__ import annotations

import struct

from logstore.protocol.errors import MalformedFrameError


class _Cursor:
    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0

    def take(self, fmt: str) -> int:
        s = struct.Struct(fmt)
        if self.pos + s.size > len(self.buf):
            raise MalformedFrameError("truncated produce v0-2 request")
        (value,) = s.unpack_from(self.buf, self.pos)
        self.pos += s.size
        return int(value)

    def skip(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.buf):
            raise MalformedFrameError("truncated produce v0-2 request")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


def refuse_legacy_produce(body: bytes, error_code: int) -> bytes:
    """A full response frame giving `error_code` to every partition in a v0–2 request."""
    c = _Cursor(body)
    c.take(">h")
    version = c.take(">h")
    correlation_id = c.take(">i")
    client_id_len = c.take(">h")
    if client_id_len > 0:
        c.skip(client_id_len)
    c.take(">h")  # acks
    c.take(">i")  # timeout
    topics: list[tuple[bytes, list[int]]] = []
    for _ in range(max(c.take(">i"), 0)):
        name = c.skip(c.take(">h"))
        partitions = []
        for _ in range(max(c.take(">i"), 0)):
            partitions.append(c.take(">i"))
            size = c.take(">i")
            if size > 0:
                c.skip(size)
        topics.append((name, partitions))
    out = bytearray(struct.pack(">i", correlation_id))
    out += struct.pack(">i", len(topics))
    for name, partitions in topics:
        out += struct.pack(">h", len(name)) + name
        out += struct.pack(">i", len(partitions))
        for p in partitions:
            out += struct.pack(">ihq", p, error_code, -1)
            if version >= 2:
                out += struct.pack(">q", -1)
    if version >= 1:
        out += struct.pack(">i", 0)
    return struct.pack(">i", len(out)) + bytes(out)
