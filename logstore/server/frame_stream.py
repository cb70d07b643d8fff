"""A connection's incoming byte stream, read as Kafka frames: the event loop writes a large
request body straight into that request's own buffer.

asyncio's StreamReader copies every byte at least twice on its way to a request (into its
growing buffer, which reallocation moves, then out into a bytes object), and on TLS the
event loop allocated a bytes object per decrypted record before that. As a
`BufferedProtocol`, this stream lends the event loop either a small staging buffer (length
prefixes, small requests, the start of a body) or, once a large body has started
arriving, the body's own bytearray, so the socket read (or the TLS layer's decryption)
lands where the decoder reads it. The event loop reads on (libuv up to 32 times) before
the connection's reader runs, so bodies that start arriving while the reader is busy are
read ahead into their own buffers too, in order.

Owns that buffering, its flow control (reading pauses once PAUSE_BYTES are read, staged or
read ahead, and not taken) and each body's share of the shared byte budget. A body is
charged once the reader takes it, as its buffer grows, and the buffer grows only once the
bytes already charged have arrived, so a reader holds at most four times what its client
sent or 64 KiB (a length prefix alone holds nothing). Bodies read ahead are not charged:
like StreamReader's buffer before them, they are bounded per connection by PAUSE_BYTES, so
a connection whose reader is stalled (its client stopped reading answers) holds no budget.
Every other protocol callback is forwarded to `inner`, the StreamReaderProtocol
that the connection's StreamWriter drains and waits for close through. It reads only the
length prefixes (Kafka's framing) and must never interpret a frame's body, nor hand out a
buffer it will write into again.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from logstore.protocol.errors import FrameTooLargeError
from logstore.protocol.framing import LENGTH_PREFIX_BYTES, parse_length
from logstore.server.budget import ByteBudget

# The staging buffer: what one socket read may fill before the body is known to be large.
STAGE_BYTES = 256 * 1024
# A body's first buffer when it had not arrived whole: GROWTH times what had arrived, at
# least FIRST_BODY_BYTES, then GROWTH times larger each time it is full, so a client holds
# at most GROWTH times what it sent, or FIRST_BODY_BYTES. Four makes a typical 1 MiB
# produce request one buffer: its first socket read brings a quarter of it.
FIRST_BODY_BYTES = 64 * 1024
GROWTH = 4
# Bytes read and not yet taken by the reader past which the socket is no longer read
# (StreamReader's pause point for our old 1 MiB limit was 2 MiB).
PAUSE_BYTES = 2 * 1024 * 1024
# Free room below which the staging buffer's unread bytes are moved to its front.
MIN_FREE = 16 * 1024


class _Body:
    """One body's buffer: `filled` bytes of `length` have arrived, `charged` of them are
    charged to `budget` (none while it is only read ahead)."""

    __slots__ = ("budget", "buf", "charged", "filled", "length", "prefix")

    def __init__(
        self,
        prefix: bytes,
        length: int,
        capacity: int,
        budget: ByteBudget | None,
        filled: int = 0,
    ) -> None:
        self.prefix = prefix
        self.length = length
        self.buf = bytearray(capacity)
        self.charged = 0
        self.budget = budget
        self.filled = filled

    @property
    def complete(self) -> bool:
        return self.filled == self.length

    def grow(self, more: int) -> None:
        try:
            # In place where the allocator can (realloc: what arrived is not copied;
            # the new room is written once, with zeros)...
            self.buf += bytes(more)
        except BufferError:
            # ...unless a view the event loop was lent is still alive.
            larger = bytearray(len(self.buf) + more)
            larger[: self.filled] = memoryview(self.buf)[: self.filled]
            self.buf = larger


class FrameStream(asyncio.BufferedProtocol):
    """Frames in through `read_prefix` then `read_body`; `read` for raw bytes. `inner`
    sees every other callback. (uvloop lends a buffer only to a protocol that is not an
    asyncio.Protocol subclass, hence BufferedProtocol in front of the stream protocol.)"""

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
        # The body the event loop writes into while set (the staging buffer is empty then).
        self._lent: _Body | None = None
        self._lent_view: memoryview | None = None
        self._lent_last = False  # which buffer the last get_buffer lent
        # Bodies read ahead, in stream order; only the last may be incomplete, and when
        # there are any, the staged bytes come after the last of them.
        self._ahead: deque[_Body] = deque()
        self._ahead_bytes = 0  # the buffers' sizes in `_ahead` (flow control, their bound)
        # The body whose prefix read_prefix returned from `_ahead`, for read_body.
        self._taken: _Body | None = None
        # The body read_body is reading (not read ahead); None between frames.
        self._reading: _Body | None = None
        self._in_body = False  # read_body is running (its body may still be staged)
        # The largest frame, from the first read_prefix: reading ahead starts then.
        self._max_frame: int | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._eof = False
        self._error: BaseException | None = None
        self._transport: asyncio.BaseTransport | None = None
        self._paused = False
        # Bytes of the body being read that have arrived (for the body deadline's message).
        self.body_arrived = 0

    # -- the event loop's side ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self.inner.connection_made(transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        lent = self._lent
        if lent is not None and self._start == self._end:
            if lent.filled == len(lent.buf) and not lent.complete:
                self._grow_lent(lent)
            # A body still full takes no more (complete, its reader not yet woken; or the
            # budget had no room): the next bytes are staged.
            if lent.filled < len(lent.buf):
                return self._lent_slice(lent)
        self._lent_last = False
        if self._start == self._end:
            self._start = self._end = 0
        elif len(self._stage) - self._end < MIN_FREE:
            self._compact()
        return self._stage_view[self._end :]

    def _lent_slice(self, lent: _Body) -> memoryview:
        if self._lent_view is None:
            self._lent_view = memoryview(lent.buf)
        self._lent_last = True
        return self._lent_view[lent.filled :]

    def buffer_updated(self, nbytes: int) -> None:
        if self._lent_last:
            lent = self._lent
            assert lent is not None
            lent.filled += nbytes
            if lent is self._reading:
                self.body_arrived += nbytes
        else:
            self._end += nbytes
            if self._max_frame is not None and self._staged_at_boundary():
                self._read_ahead()
        if self._end - self._start + self._ahead_bytes >= PAUSE_BYTES and not self._paused:
            self._pause()
        self._wake()

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

    # -- reading ahead --------------------------------------------------------------------

    def _staged_at_boundary(self) -> bool:
        """Whether the staged bytes start a frame nobody has begun to read."""
        if self._ahead:
            return self._ahead[-1].complete
        reading = self._reading
        if reading is not None:
            return reading.complete  # its bytes all went to its buffer: what follows is new
        return not self._in_body and self._taken is None

    def _read_ahead(self) -> None:
        # A body that started arriving (more than its prefix is here) but is not here
        # whole gets its buffer now, sized as read_body would size it, and the event
        # loop's next reads land in it. Its charge waits for the reader (read_body);
        # meanwhile PAUSE_BYTES bounds what is read ahead. Whole frames stay staged
        # (copied out by read_body); what follows one waits until the reader took it.
        staged = self._end - self._start
        if staged <= LENGTH_PREFIX_BYTES:
            return  # a prefix alone holds nothing
        assert self._max_frame is not None
        prefix = bytes(self._stage_view[self._start : self._start + LENGTH_PREFIX_BYTES])
        try:
            length = parse_length(prefix, self._max_frame)
        except FrameTooLargeError:
            return  # the reader refuses it
        arrived = staged - LENGTH_PREFIX_BYTES
        if arrived >= length:
            return
        capacity = min(length, max(FIRST_BODY_BYTES, GROWTH * arrived))
        if self._ahead_bytes + capacity > PAUSE_BYTES:
            return  # staged instead, until the reader catches up
        body = _Body(prefix, length, capacity, None, arrived)
        body.buf[:arrived] = self._stage_view[self._start + LENGTH_PREFIX_BYTES : self._end]
        self._start = self._end = 0
        self._ahead.append(body)
        self._ahead_bytes += capacity
        self._lend(body)

    def _grow_lent(self, body: _Body) -> None:
        # The buffer is full: a larger one if the reader's budget has room at once, or,
        # read ahead, if PAUSE_BYTES has (otherwise read_body grows it, waiting for
        # budget). Here, between two reads, no view of it is alive: it can usually grow
        # in place.
        capacity = len(body.buf)
        more = min(body.length, GROWTH * capacity) - capacity
        if body is self._reading:
            assert body.budget is not None
            if not body.budget.try_acquire(more):
                return
            body.charged += more
        elif self._ahead and body is self._ahead[-1]:
            if self._ahead_bytes + more > PAUSE_BYTES:
                return
            self._ahead_bytes += more
        else:
            return  # taken, its charge not yet made: read_body grows it
        if self._lent_view is not None:
            self._lent_view.release()
            self._lent_view = None
        body.grow(more)

    def abandon(self) -> None:
        """Drop the bodies read ahead that nobody will read now, and read none ahead any
        more (the connection is ending). They hold no budget."""
        self._max_frame = None
        self._unlend()
        self._ahead.clear()
        self._ahead_bytes = 0
        self._taken = None

    # -- the connection's side ------------------------------------------------------------

    def writer(self, transport: asyncio.BaseTransport) -> asyncio.StreamWriter:
        """The StreamWriter for a connection made without `connected`."""
        return asyncio.StreamWriter(transport, self.inner, None, self._loop)  # type: ignore[arg-type]

    @property
    def read_ahead_bytes(self) -> int:
        """The size of the buffers of bodies read ahead and not yet taken."""
        return self._ahead_bytes

    async def read_prefix(self, max_bytes: int) -> bytes:
        """A frame's length prefix, as readexactly(4). Bodies of frames up to `max_bytes`
        may be read ahead from now on: after a prefix, the caller must call read_body for
        its body, or `abandon`."""
        self._max_frame = max_bytes
        if not self._ahead and self._staged_at_boundary():
            self._read_ahead()
        while not self._ahead and self._end - self._start < LENGTH_PREFIX_BYTES:
            if self._eof:
                return await self.readexactly(LENGTH_PREFIX_BYTES)  # raises
            await self._wait()
        if self._ahead:
            body = self._taken = self._ahead.popleft()
            self._ahead_bytes -= len(body.buf)
            self._maybe_resume()
            return body.prefix
        return await self.readexactly(LENGTH_PREFIX_BYTES)

    async def readexactly(self, n: int) -> bytes:
        """`n` staged bytes; IncompleteReadError at the end of the stream."""
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
        """Up to `n` of the staged bytes, waiting for some; b"" at the end."""
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
        """The `length`-byte body of the prefix read_prefix returned, charged to `budget`
        (all of it once returned; nothing left charged if this raises). A body that had
        arrived whole is copied out of the staging buffer; a larger one is read into its
        own buffer, returned read-only. Nothing is charged before its first byte came."""
        body, self._taken = self._taken, None
        if body is not None and body.length != length:
            self.abandon()  # not the body it was read ahead for (a caller's mistake)
            body = None
        self._in_body = True
        try:
            if body is None:
                self.body_arrived = 0
                while self._start == self._end:
                    if self._eof:
                        self._raise_lost()
                        raise asyncio.IncompleteReadError(b"", length)
                    await self._wait()
                staged = min(self._end - self._start, length)
                if staged == length:
                    if not budget.try_acquire(length):
                        await budget.acquire(length)
                    whole = bytes(self._stage_view[self._start : self._start + length])
                    self._consumed(length)
                    return whole
                capacity = min(length, max(FIRST_BODY_BYTES, GROWTH * staged))
                await budget.acquire(capacity)
                body = _Body(b"", length, capacity, budget)
                body.charged = capacity
            else:
                # Taken from those read ahead: charged now, for the buffer it has.
                body.budget = budget
                capacity = len(body.buf)
                if not budget.try_acquire(capacity):
                    if self._lent is body:
                        self._unlend()  # what comes meanwhile is staged, in order
                    await budget.acquire(capacity)  # (unlent: nothing grows it meanwhile)
                body.charged = capacity
                self.body_arrived = body.filled
            self._reading = body
            return await self._fill(body)
        except BaseException:
            if body is not None:
                if self._lent is body:
                    self._unlend()
                budget.release(body.charged)
            raise
        finally:
            self._reading = None
            self._in_body = False

    async def _fill(self, body: _Body) -> memoryview:
        while True:
            # What is staged first (it came before anything the body's buffer can get).
            take = min(self._end - self._start, len(body.buf) - body.filled)
            if take:
                at = body.filled
                body.buf[at : at + take] = self._stage_view[self._start : self._start + take]
                self._consumed(take)
                body.filled += take
                self.body_arrived += take
            if body.filled < len(body.buf):
                # The staging buffer is empty now: the event loop fills the body (and
                # grows it when the budget has room at once).
                self._lend(body)
                while body.filled < len(body.buf):
                    if self._eof:
                        got = bytes(memoryview(body.buf)[: body.filled])
                        self._raise_lost()
                        raise asyncio.IncompleteReadError(got, body.length)
                    await self._wait()
            if self._lent is body:
                self._unlend()
            if body.complete:
                return memoryview(body.buf).toreadonly()
            capacity = len(body.buf)
            more = min(body.length, GROWTH * capacity) - capacity
            assert body.budget is not None
            await body.budget.acquire(more)
            body.charged += more
            body.grow(more)

    # -- helpers --------------------------------------------------------------------------

    def _lend(self, body: _Body) -> None:
        if self._lent is not body:
            self._unlend()
            self._lent = body

    def _unlend(self) -> None:
        # The view is released so that the body's bytearray may grow in place.
        if self._lent_view is not None:
            self._lent_view.release()
        self._lent = self._lent_view = None

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
        self._maybe_resume()

    def _maybe_resume(self) -> None:
        if self._paused and self._end - self._start + self._ahead_bytes < PAUSE_BYTES // 2:
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
