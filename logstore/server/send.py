"""Writing replies to a transport, with zero-copy for record slices on plain TCP.

Owns how reply parts reach the socket: bytes are written, file slices (anything with
`file`/`fileno()`, `position`, `size`, `to_bytes()`) go through `loop.sendfile` on loops
that implement it natively (the stdlib selector loop), or through `os.sendfile` on the raw
fd when the transport's buffer is empty (uvloop), falling back to a copy only for what the
socket does not take at once. Without zero-copy (TLS) a reply is read into one buffer and
written once. It must never decide what to send.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from typing import Any

from logstore.broker.api import RawReply

# Bytes copied through the transport when the socket is full, before sendfile resumes.
COPY_CHUNK = 64 * 1024


def _fileno(part: Any) -> int | None:
    fileno = getattr(part, "fileno", None)
    if fileno is None:
        return None
    try:
        return int(fileno())
    except (OSError, ValueError):
        return None


def _in_memory(part: Any) -> bool:
    return isinstance(part, bytes | bytearray | memoryview)


class ReplyWriter:
    def __init__(self, writer: asyncio.StreamWriter, *, zero_copy: bool = True) -> None:
        self._writer = writer
        transport = writer.transport
        self._transport = transport
        sock = transport.get_extra_info("socket")
        self._sock_fd: int | None = sock.fileno() if sock is not None and zero_copy else None
        loop = asyncio.get_running_loop()
        self._native = zero_copy and hasattr(loop, "_sendfile_native")
        self.zero_copy_bytes = 0
        self.copied_bytes = 0

    async def send(self, reply: bytes | RawReply) -> None:
        try:
            await self._send(reply)
        except RuntimeError as exc:
            # uvloop refuses any write to a transport the client has already closed with a
            # RuntimeError; that is a client leaving, not a broker fault.
            if not self._transport.is_closing():
                raise
            raise ConnectionResetError("the client closed the connection mid-reply") from exc

    async def _send(self, reply: bytes | RawReply) -> None:
        if isinstance(reply, bytes):
            self._writer.write(reply)
        else:
            try:
                await self._send_parts(reply.parts)
            finally:
                for part in reply.parts:
                    close = getattr(part, "close", None)
                    if close is not None and not isinstance(part, bytes):
                        close()
        await self._writer.drain()

    async def _send_parts(self, parts: Sequence[Any]) -> None:
        if self._sock_fd is None:
            self._writer.write(self._gather(parts))
            return
        for part in parts:
            if isinstance(part, bytes | bytearray | memoryview):
                self._writer.write(part)
                continue
            if part.size == 0:
                continue
            fd = _fileno(part)
            if fd is None or self._sock_fd is None:
                self._writer.write(part.to_bytes())
                self.copied_bytes += part.size
            elif self._native:
                await self._writer.drain()
                file = getattr(part, "file", None)
                if file is None:
                    self._writer.write(part.to_bytes())
                    self.copied_bytes += part.size
                    continue
                loop = asyncio.get_running_loop()
                await loop.sendfile(self._transport, file, part.position, part.size)
                self.zero_copy_bytes += part.size
            else:
                await self._send_raw(part, fd)

    def _gather(self, parts: Sequence[Any]) -> bytes | bytearray:
        # On TLS every write becomes its own TLS records and a pass through the SSL
        # protocol's Python code; one buffer read straight from the segments (no bytes
        # object per slice) makes a reply one write, encrypted in full-size records.
        if len(parts) == 1 and isinstance(parts[0], bytes):
            return parts[0]
        buf = bytearray(sum(len(p) if _in_memory(p) else p.size for p in parts))
        view = memoryview(buf)
        at = 0
        for part in parts:
            if _in_memory(part):
                end = at + len(part)
                view[at:end] = part
            else:
                end = at + part.size
                read_into = getattr(part, "read_into", None)
                if read_into is not None:
                    read_into(view[at:end])
                else:
                    view[at:end] = part.to_bytes()
                self.copied_bytes += part.size
            at = end
        return buf

    async def _send_raw(self, part: Any, fd: int) -> None:
        # uvloop has no native sendfile. Writing to the fd ourselves is safe only while the
        # transport has nothing queued (otherwise bytes would overtake each other), and we
        # cannot ask the loop to watch an fd a transport owns. So: sendfile while the socket
        # takes bytes; when it is full, queue one small copied chunk through the transport
        # and let drain() (with a zero high-water mark) tell us when the socket has room.
        transport = self._transport
        high = transport.get_write_buffer_limits()[1]
        transport.set_write_buffer_limits(high=0)
        try:
            sent = 0
            while sent < part.size:
                await self._writer.drain()
                if transport.get_write_buffer_size() == 0 and self._sock_fd is not None:
                    try:
                        n = os.sendfile(self._sock_fd, fd, part.position + sent, part.size - sent)
                    except (BlockingIOError, InterruptedError):
                        n = 0
                    if n > 0:
                        sent += n
                        self.zero_copy_bytes += n
                        continue
                chunk = os.pread(fd, min(COPY_CHUNK, part.size - sent), part.position + sent)
                if not chunk:
                    raise OSError("segment shorter than its read slice")
                self._writer.write(chunk)
                sent += len(chunk)
                self.copied_bytes += len(chunk)
        finally:
            # A client that resets mid-reply leaves a closed transport, which refuses any
            # call; there is nothing to restore then.
            if not transport.is_closing():
                transport.set_write_buffer_limits(high=high)
