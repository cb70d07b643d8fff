"""A connection's incoming byte stream, read as Kafka frames: the event loop writes a large
request body straight into that request's own buffer.

asyncio's StreamReader copies every byte at least twice on its way to a request (into its
growing buffer, which reallocation moves, then out into a bytes object), and on TLS the
event loop allocated a bytes object per decrypted record before that. As a
`BufferedProtocol`, this stream lends the event loop either a small staging buffer (length
prefixes, small requests, the start of a body) or, while a large body is being read, the
body's own bytearray, so the socket read (or the TLS layer's decryption) lands where the
decoder reads it.

Owns that buffering, its flow control (reading pauses while too much is staged and
nobody consumes it) and the body's share of the shared byte budget: a body is charged as
its buffer grows, and the buffer grows only when the bytes already charged have arrived,
so a client holds at most four times what it sent or 64 KiB (a length prefix alone holds
nothing).
Every other protocol callback is forwarded to `inner`, the StreamReaderProtocol that the
connection's StreamWriter drains and waits for close through. It must never interpret a
frame, nor hand out a buffer it will write into again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from logstore.protocol.errors import FrameTooLargeError
from logstore.protocol.framing import LENGTH_PREFIX_BYTES, parse_length
from logstore.server.budget import ByteBudget

# The staging buffer: what one socket read may fill before the body is known to be large.
STAGE_BYTES = 256 * 1024
# A body's first buffer when it had not arrived whole: GROWTH times what is staged, at
# least FIRST_BODY_BYTES, then GROWTH times larger each time it is full, so a client holds
# at most GROWTH times what it sent, or FIRST_BODY_BYTES. Four makes a typical 1 MiB
# produce request one buffer: its first socket read stages a quarter of it.
FIRST_BODY_BYTES = 64 * 1024
GROWTH = 4
# Staged and unconsumed bytes past which the socket is no longer read (StreamReader's
# default pause point for our old 1 MiB limit was 2 MiB).
PAUSE_BYTES = 2 * 1024 * 1024
# Free room below which the staging buffer's unread bytes are moved to its front.
MIN_FREE = 16 * 1024


class FrameStream(asyncio.BufferedProtocol):
    """Frames in through `readexactly`/`read_body`/`read`; `inner` sees every other
    callback (it must not be an asyncio.Protocol subclass's data path: uvloop lends a
    buffer only to protocols that are not)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        connected: Callable[[FrameStream, asyncio.StreamWriter], Awaitable[None]] | None = None,
    ) -> None:
        """`connected(stream, writer)` runs as a task once the connection is made (a
        server's per-connection coroutine); without it, make the writer with `writer`."""
        # No StreamReader behind it: this stream is the only reader. The inner protocol
        # still does what StreamWriter needs (write flow control, the close waiter).
        callback = None if connected is None else (lambda _r, w: connected(self, w))
        self.inner = asyncio.StreamReaderProtocol(None, callback, loop=loop)  # type: ignore[arg-type]
        self._loop = loop
        self._stage = bytearray(STAGE_BYTES)
        self._stage_view = memoryview(self._stage)
        self._start = self._end = 0  # unread staged bytes: _stage[_start:_end]
        self._body: bytearray | None = None  # lent to the event loop while set
        self._body_view: memoryview | None = None
        self._filled = 0  # body bytes written so far
        self._lent_body = False  # which buffer the last get_buffer lent
        self._waiter: asyncio.Future[None] | None = None
        self._eof = False
        self._error: BaseException | None = None
        self._transport: asyncio.BaseTransport | None = None
        self._paused = False
        # While the reader waits for a prefix: (max frame bytes, budget) for the eager body.
        self._prefix_for: tuple[int, ByteBudget] | None = None
        # A prefix already taken out of the staging buffer, and its body's buffer, charged
        # (length, buffer, charged bytes, budget), when the body started arriving together
        # with its prefix (see `_start_body`).
        self._eager_prefix: bytes | None = None
        self._eager: tuple[int, bytearray, int, ByteBudget] | None = None
        # Bytes of the body being read that have arrived (for the body deadline's message).
        self.body_arrived = 0

    # -- the event loop's side ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self.inner.connection_made(transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        body = self._body_view
        # Once the body is full (its reader not yet woken), the next bytes are staged.
        if body is not None and self._start == self._end and self._filled < len(body):
            self._lent_body = True
            return body[self._filled :]
        self._lent_body = False
        if self._start == self._end:
            self._start = self._end = 0
        elif len(self._stage) - self._end < MIN_FREE:
            self._compact()
        return self._stage_view[self._end :]

    def buffer_updated(self, nbytes: int) -> None:
        if self._lent_body:
            self._filled += nbytes
            self.body_arrived += nbytes
        else:
            self._end += nbytes
            if self._prefix_for is not None and self._eager_prefix is None:
                self._start_body()
            if self._end - self._start >= PAUSE_BYTES and not self._paused:
                self._pause()
        self._wake()

    def _start_body(self) -> None:
        # The event loop reads on (libuv up to 32 times) before the waiting reader runs:
        # without this, a whole request would land in the staging buffer and be copied
        # out. A body that began arriving with its prefix gets its buffer here, charged as
        # read_body would (nothing if the budget is short: read_body then waits for it).
        staged = self._end - self._start
        if staged <= LENGTH_PREFIX_BYTES:
            return  # a prefix alone holds nothing
        assert self._prefix_for is not None
        max_bytes, budget = self._prefix_for
        prefix = bytes(self._stage_view[self._start : self._start + LENGTH_PREFIX_BYTES])
        try:
            length = parse_length(prefix, max_bytes)
        except FrameTooLargeError:
            return  # the reader refuses it
        arrived = staged - LENGTH_PREFIX_BYTES
        if arrived >= length:
            return  # here whole: read_body copies it out
        capacity = min(length, max(FIRST_BODY_BYTES, GROWTH * arrived))
        if not budget.try_acquire(capacity):
            return
        buf = bytearray(capacity)
        buf[:arrived] = self._stage_view[self._start + LENGTH_PREFIX_BYTES : self._end]
        self._start = self._end = 0
        self._eager_prefix = prefix
        self._eager = (length, buf, capacity, budget)
        self._filled = self.body_arrived = arrived
        self._lend(buf)

    def eof_received(self) -> bool | None:
        self._eof = True
        self._wake()
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._error = exc
        self._wake()
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    # -- the connection's side ------------------------------------------------------------

    def writer(self, transport: asyncio.BaseTransport) -> asyncio.StreamWriter:
        """The StreamWriter for a connection made without `connected`."""
        return asyncio.StreamWriter(transport, self.inner, None, self._loop)  # type: ignore[arg-type]

    async def read_prefix(self, max_bytes: int, budget: ByteBudget) -> bytes:
        """A frame's length prefix, as readexactly(4). A body that arrives together with
        it (valid for `max_bytes`) is read into its own buffer at once, charged to
        `budget`: the caller must then call read_body for it, or `abandon`."""
        self._prefix_for = (max_bytes, budget)
        try:
            if self._end - self._start > LENGTH_PREFIX_BYTES:
                self._start_body()
            while self._eager_prefix is None and self._end - self._start < LENGTH_PREFIX_BYTES:
                if self._eof:
                    return await self.readexactly(LENGTH_PREFIX_BYTES)  # raises
                await self._wait()
        finally:
            self._prefix_for = None
        if self._eager_prefix is not None:
            prefix, self._eager_prefix = self._eager_prefix, None
            return prefix
        return await self.readexactly(LENGTH_PREFIX_BYTES)

    def abandon(self) -> None:
        """Give back the charge of a body read ahead that nobody will read now."""
        eager, self._eager, self._eager_prefix = self._eager, None, None
        if eager is not None:
            self._unlend()
            eager[3].release(eager[2])

    async def readexactly(self, n: int) -> bytes:
        """`n` bytes (a length prefix); IncompleteReadError at the end of the stream."""
        while self._end - self._start < n:
            if self._eof:
                partial = bytes(self._stage_view[self._start : self._end])
                self._start = self._end
                self._raise_lost()
                raise asyncio.IncompleteReadError(partial, n)
            await self._wait()
        data = bytes(self._stage_view[self._start : self._start + n])
        self._consumed(n)
        return data

    async def read(self, n: int) -> bytes:
        """Up to `n` of the bytes that have arrived, waiting for some; b"" at the end."""
        while self._start == self._end:
            if self._eof:
                self._raise_lost()
                return b""
            await self._wait()
        n = min(n, self._end - self._start)
        data = bytes(self._stage_view[self._start : self._start + n])
        self._consumed(n)
        return data

    async def read_body(self, length: int, budget: ByteBudget) -> bytes | memoryview:
        """A `length`-byte body, charged to `budget` (all of it once returned; nothing
        left charged if this raises). A body that had arrived whole is copied out of the
        staging buffer; a larger one is read into its own buffer, returned read-only.
        Nothing is charged before the body's first byte has arrived."""
        eager, self._eager = self._eager, None
        if eager is not None and (eager[0] != length or eager[3] is not budget):
            self._eager = eager
            self.abandon()  # not the body it was read ahead for (a caller's mistake)
            eager = None
        if eager is None:
            self.body_arrived = 0
        while eager is None and self._start == self._end:
            if self._eof:
                self._raise_lost()
                raise asyncio.IncompleteReadError(b"", length)
            await self._wait()
        staged = min(self._end - self._start, length)
        if eager is None and staged == length:
            if not budget.try_acquire(length):
                await budget.acquire(length)
            body = bytes(self._stage_view[self._start : self._start + length])
            self._consumed(length)
            return body
        charged = 0
        try:
            if eager is not None:
                _, buf, capacity, _ = eager
                charged = capacity
            else:
                capacity = min(length, max(FIRST_BODY_BYTES, GROWTH * staged))
                await budget.acquire(capacity)
                charged = capacity
                buf = bytearray(capacity)
                self._filled = 0
            while True:
                # What is staged first (it came before anything the body buffer can get).
                take = min(self._end - self._start, capacity - self._filled)
                if take:
                    at = self._filled
                    buf[at : at + take] = self._stage_view[self._start : self._start + take]
                    self._consumed(take)
                    self._filled += take
                    self.body_arrived += take
                if self._filled < capacity:
                    # The staging buffer is empty now: the event loop fills the body.
                    self._lend(buf)
                    while self._filled < capacity:
                        if self._eof:
                            got = bytes(memoryview(buf)[: self._filled])
                            self._raise_lost()
                            raise asyncio.IncompleteReadError(got, length)
                        await self._wait()
                    self._unlend()
                if capacity == length:
                    break
                more = min(length, GROWTH * capacity) - capacity
                await budget.acquire(more)
                charged += more
                capacity += more
                try:
                    # Grown in place where the allocator can (calloc'd zeros: the new
                    # room is touched only as the copy lands in it)...
                    buf += bytes(more)
                except BufferError:
                    # ...unless a view the event loop was lent is still alive.
                    larger = bytearray(capacity)
                    larger[: self._filled] = buf
                    buf = larger
        except BaseException:
            self._unlend()
            budget.release(charged)
            raise
        return memoryview(buf).toreadonly()

    # -- helpers --------------------------------------------------------------------------

    def _lend(self, buf: bytearray) -> None:
        if self._body is buf:
            return
        self._unlend()
        self._body = buf
        self._body_view = memoryview(buf)

    def _unlend(self) -> None:
        # The view must be released before the bytearray may grow.
        if self._body_view is not None:
            self._body_view.release()
        self._body = self._body_view = None

    def _compact(self) -> None:
        unread = self._end - self._start
        if unread >= len(self._stage) - MIN_FREE:
            # Full of unread bytes (reading pauses only past PAUSE_BYTES): a larger one.
            # Not resized in place: a view the event loop was lent may still be alive.
            larger = bytearray(2 * len(self._stage))
            larger[:unread] = self._stage_view[self._start : self._end]
            self._stage, self._stage_view = larger, memoryview(larger)
        else:
            self._stage_view[:unread] = self._stage_view[self._start : self._end]
        self._start, self._end = 0, unread

    def _consumed(self, n: int) -> None:
        self._start += n
        if self._paused and self._end - self._start < PAUSE_BYTES // 2:
            self._paused = False
            transport = self._transport
            if transport is not None and not transport.is_closing():
                transport.resume_reading()  # type: ignore[attr-defined]

    def _pause(self) -> None:
        transport = self._transport
        if transport is not None and not transport.is_closing():
            self._paused = True
            transport.pause_reading()  # type: ignore[attr-defined]

    def _raise_lost(self) -> None:
        if self._error is not None:
            raise ConnectionResetError(str(self._error) or "connection lost") from self._error

    async def _wait(self) -> None:
        assert self._waiter is None, "one reader at a time"
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
