"""A deliberately small raw Kafka client for bad-input differential tests.

Owns hand-made frames (non-flexible request header v1, any body bytes), hand-made
RecordBatch v2 bytes (so a test can corrupt exactly one field), and reading one response
frame or noticing that the broker closed the connection. Bodies are encoded and decoded
with kio directly, never through logstore's own codec: a test of Odradek's parser must
not share its code.

It must never retry, reconnect or interpret errors: tests compare what came back.
"""

from __future__ import annotations

import io
import socket
import struct
import time
from typing import Any

import crc32c
from kio.serial import entity_reader, entity_writer

TIMEOUT = 10.0


def encode(entity: Any) -> bytes:
    buffer = io.BytesIO()
    entity_writer(type(entity))(buffer, entity)
    return buffer.getvalue()


def decode(cls: type, payload: bytes) -> Any:
    reader: Any = entity_reader(cls)
    entity, _ = reader(payload, 0)
    return entity


def frame(
    api_key: int, version: int, correlation_id: int, body: bytes, flexible: bool = False
) -> bytes:
    """Length prefix + request header v1 (v2 if `flexible`; client id "diff") + body."""
    client_id = b"diff"
    header = struct.pack(">hhih", api_key, version, correlation_id, len(client_id)) + client_id
    if flexible:
        header += b"\x00"  # header v2: empty tagged fields
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def _recv_exactly(sock: socket.socket, size: int, deadline: float) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            chunk = sock.recv(size - len(chunks))
        except TimeoutError:
            return None
        except ConnectionResetError:
            return b""
        if not chunk:
            return b""
        chunks += chunk
    return bytes(chunks)


def exchange(bootstrap: str, raw: bytes, expect_reply: bool = True) -> bytes | str:
    """Send `raw` on a fresh connection; the reply payload (after the length prefix),
    "closed" if the broker closed the connection, or "silent" if nothing came back."""
    host, port = bootstrap.rsplit(":", 1)
    deadline = time.monotonic() + TIMEOUT
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as sock:
        try:
            sock.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            return "closed"
        if not expect_reply:
            # Give the broker a moment to react to a frame it should reject.
            deadline = time.monotonic() + 3.0
        size = _recv_exactly(sock, 4, deadline)
        if size is None:
            return "silent"
        if size == b"":
            return "closed"
        (length,) = struct.unpack(">i", size)
        payload = _recv_exactly(sock, length, deadline)
        if payload is None:
            return "silent"
        if payload == b"":
            return "closed"
        return payload


def _varint(value: int) -> bytes:
    zigzag = (value << 1) ^ (value >> 63)
    out = bytearray()
    while zigzag >= 0x80:
        out.append((zigzag & 0x7F) | 0x80)
        zigzag >>= 7
    out.append(zigzag)
    return bytes(out)


def _record(offset_delta: int, value: bytes, key: bytes | None = None, ts_delta: int = 0) -> bytes:
    body = (
        b"\x00"  # attributes
        + _varint(ts_delta)
        + _varint(offset_delta)
        + (_varint(-1) if key is None else _varint(len(key)) + key)
        + _varint(len(value))
        + value
        + _varint(0)  # no headers
    )
    return _varint(len(body)) + body


def record_batch(
    values: list[bytes],
    timestamp: int = 1_700_000_000_000,
    magic: int = 2,
    keys: list[bytes | None] | None = None,
    ts_deltas: list[int] | None = None,
    attributes: int = 0,
) -> bytearray:
    """An uncompressed RecordBatch v2, CRC-32C correct; callers corrupt what they test.
    Records have no key unless `keys` says, and the batch's timestamp plus `ts_deltas`;
    `attributes` 8 marks the batch LogAppendTime."""
    keys = keys or [None] * len(values)
    deltas = ts_deltas or [0] * len(values)
    records = b"".join(
        _record(i, v, k, d) for i, (v, k, d) in enumerate(zip(values, keys, deltas, strict=True))
    )
    after_crc = (
        struct.pack(
            ">hiqqqhii",
            attributes,  # 0: no compression, CreateTime
            len(values) - 1,
            timestamp,
            timestamp + max(deltas),
            -1,  # producer id
            -1,  # producer epoch
            -1,  # base sequence
            len(values),
        )
        + records
    )
    crc = crc32c.crc32c(after_crc)
    # baseOffset, batchLength, partitionLeaderEpoch, magic, crc
    head = struct.pack(">qiibI", 0, 4 + 1 + 4 + len(after_crc), -1, magic, crc)
    return bytearray(head + after_crc)
