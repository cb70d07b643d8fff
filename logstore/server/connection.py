"""One client connection: read frames, answer them in order, close on protocol errors.

Owns the per-connection pipeline and its rules: the length prefix is checked before the
body is read (never allocating a hostile size); the body (read by
logstore.server.frame_stream) is charged to the shared byte budget as it arrives and given
back once the request was handled; the body must arrive
within the body deadline, and a connection with nothing in flight closes after
connections.max.idle.ms of silence (both judged by `expired`, which the listener's sweep
calls); up to PIPELINE_DEPTH requests are handled concurrently but answered strictly in
arrival order; and a frame that cannot be trusted closes this connection only. On a SASL
listener the exchange (logstore.broker.sasl_gate) is served one frame at a time before any
other request, and again when the client re-authenticates; a request after the session's
lifetime closes the connection. A client over its quota is muted: no request of its is
handled, and no further frame read, until its throttle time is over. Handlers start in
arrival order and Produce appends before its first await, so appends keep the order the
client sent them in, while acks=all requests from one producer can share an fsync (group
commit). It must never interpret requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
from collections.abc import Callable

from logstore.broker.api import ANONYMOUS
from logstore.broker.context import Broker
from logstore.broker.dispatch import Reply, handle_frame
from logstore.broker.sasl_gate import SaslGate
from logstore.protocol import codec
from logstore.protocol.api_keys import ApiKey
from logstore.protocol.errors import ProtocolError
from logstore.protocol.framing import parse_length
from logstore.server.budget import ByteBudget
from logstore.server.frame_stream import FrameStream
from logstore.server.lograte import ThrottledLog
from logstore.server.send import ReplyWriter

log = logging.getLogger("logstore.server")

# Requests read ahead of the oldest unanswered one (Kafka itself handles one at a time).
PIPELINE_DEPTH = 128
# How long a connection refused at login stays open for its client to read the answer.
FAILED_LOGIN_LINGER_S = 1.0
_NUMBERS = itertools.count(1)
# What `_before_request` decided about a frame on a session with a lifetime.
_SERVE, _ANSWERED, _CLOSE = object(), object(), object()


def _give_back(release: Callable[[int], None], length: int, _task: object) -> None:
    release(length)


async def _ready(reply: Reply) -> Reply:
    return reply


class Connection:
    def __init__(
        self,
        broker: Broker,
        reader: FrameStream,
        writer: asyncio.StreamWriter,
        budget: ByteBudget,
        closing_log: ThrottledLog | None = None,
        gate: SaslGate | None = None,
        *,
        listener: str = "",
        principal: str = ANONYMOUS,
        zero_copy: bool = True,
    ) -> None:
        self.broker = broker
        # Names this connection to the broker, which ends what Kafka ties to a connection.
        self.number = next(_NUMBERS)
        # A SASL listener's exchange; requests are served as its principal once it
        # succeeded. Before that (and without SASL), `principal`: the TLS client
        # certificate's, or ANONYMOUS.
        self._gate = gate
        self.principal = principal
        # The listener it came in on: Metadata answers with that listener's address.
        self.listener = listener
        self.reader = reader
        self.writer = writer
        self.budget = budget
        # Why a connection was closed, per client address and kind of reason, at a rate a
        # flood of bad frames cannot turn into a disk-filling log.
        self._closing_log = closing_log or ThrottledLog(
            log, logging.INFO, broker.clock, 60_000, held_back="more closed"
        )
        peer = writer.get_extra_info("peername")
        self.client_host = str(peer[0]) if peer else "unknown"
        self.replies = ReplyWriter(writer, zero_copy=zero_copy)
        # Unbounded queue, bounded by the slots: the end marker can always be queued.
        self._pending: asyncio.Queue[asyncio.Task[Reply] | None] = asyncio.Queue()
        self._slots = asyncio.Semaphore(PIPELINE_DEPTH)
        self._at_boundary = True  # waiting for a frame's first byte: safe to stop reading
        self._reading: asyncio.Task[None] | None = None
        self._in_flight = 0  # requests read and not yet answered
        self.last_active = asyncio.get_running_loop().time()  # last frame read or reply sent
        self._body_since: float | None = None  # when the current frame's prefix arrived
        self._body_length = 0
        self._expired: str | None = None

    @property
    def idle(self) -> bool:
        return self._at_boundary and self._pending.empty()

    def stop_reading(self) -> None:
        """Graceful shutdown: read no new frame; queued requests still get answers."""
        if self._reading is not None and self._at_boundary:
            self._reading.cancel()

    async def run(self) -> None:
        self._reading = asyncio.create_task(self._read_frames())
        answering = asyncio.create_task(self._answer())
        try:
            await asyncio.wait({self._reading, answering}, return_when=asyncio.FIRST_EXCEPTION)
            for task in (self._reading, answering):
                if task.done() and not task.cancelled() and task.exception() is not None:
                    self._log_end(task.exception())  # type: ignore[arg-type]
            if not answering.done():
                # Reading stopped cleanly (EOF or shutdown): answer what was already read.
                await answering
        except asyncio.CancelledError:
            pass
        except Exception as exc:
            self._log_end(exc)
        finally:
            for task in (self._reading, answering):
                task.cancel()
            self.reader.abandon()  # bodies read ahead of requests that will not be read
            while not self._pending.empty():
                item = self._pending.get_nowait()
                if item is not None:
                    item.cancel()  # its done-callback gives its bytes back
            self.writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self.broker.connection_closed(self.number)
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self.writer.wait_closed(), 1.0)

    def _log_end(self, exc: BaseException) -> None:
        if isinstance(exc, asyncio.IncompleteReadError):
            if exc.partial:
                self._closing_log(
                    f"{self.client_host} mid-frame",
                    "connection from %s ended mid-frame",
                    self.client_host,
                )
        elif isinstance(exc, ProtocolError | ConnectionError):
            self._closing_log(
                f"{self.client_host} {type(exc).__name__}",
                "closing connection from %s: %s",
                self.client_host,
                exc,
            )
        else:
            # A handler bug must cost one connection, never the broker.
            log.error(
                "unexpected error; closing connection from %s",
                self.client_host,
                exc_info=(type(exc), exc, exc.__traceback__),
            )

    async def _read_frames(self) -> None:
        max_bytes = self.broker.config.max_request_bytes
        loop = asyncio.get_running_loop()
        reader = self.reader
        release = self.budget.release
        try:
            gate = self._gate
            if gate is not None and not await self._exchange(gate):
                return
            principal, listener = self.principal, self.listener
            quotas = self.broker.quotas
            while True:
                self._at_boundary = True
                await self._slots.acquire()
                try:
                    prefix = await reader.read_prefix(max_bytes)
                except asyncio.IncompleteReadError as exc:
                    if exc.partial:
                        raise
                    return  # the client closed between frames
                self._at_boundary = False
                self.last_active = self._body_since = loop.time()
                length = parse_length(prefix, max_bytes)
                body = await self._read_body(length)
                self._body_since = None
                if gate is not None and gate.expires:
                    verdict = await self._before_request(gate, body, length)
                    if verdict is _CLOSE:
                        return
                    if verdict is _ANSWERED:
                        continue
                hold_ms = quotas.hold_ms(self.number)
                if hold_ms:
                    # Throttled for a quota: this request waits until the wait is over, and
                    # nothing more is read meanwhile (the reader may already have been
                    # waiting for this frame when the wait was decided). A shutdown may
                    # stop the wait: the request is then dropped unanswered, as unread.
                    self._at_boundary = True
                    try:
                        await asyncio.sleep(hold_ms / 1000)
                    except asyncio.CancelledError:
                        release(length)
                        raise
                    self._at_boundary = False
                task = asyncio.create_task(
                    handle_frame(
                        self.broker, body, self.client_host, principal, listener, self.number
                    )
                )
                del body
                # Handled (or cancelled), the body is no longer held: its bytes go back
                # then, not when the answer is sent, so a client that stops reading its
                # answers holds nothing.
                task.add_done_callback(functools.partial(_give_back, release, length))
                self._in_flight += 1
                self._pending.put_nowait(task)
        except asyncio.CancelledError:
            # stop_reading() or expire(): fall through to the end-of-requests marker.
            if self._expired is not None:
                self._closing_log(
                    f"{self.client_host} {self._expired}",
                    "closing connection from %s: %s",
                    self.client_host,
                    self._expired,
                )
        finally:
            self._at_boundary = True
            self._body_since = None
            self._pending.put_nowait(None)

    async def _before_request(
        self, gate: SaslGate, body: bytes | memoryview, length: int
    ) -> object:
        """Before serving a request on a session with a lifetime: a SaslHandshake that
        starts a re-authentication runs the whole exchange (_ANSWERED once it succeeded);
        any other request after the session expired closes the connection, as Kafka does
        (_CLOSE); otherwise the request is served (_SERVE)."""
        api_key = int.from_bytes(body[:2], "big", signed=True)
        if api_key == ApiKey.SASL_HANDSHAKE and gate.begin_reauthentication():
            stats = self.broker.authentications
            if not await self._exchange(gate, (bytes(body), length)):
                stats.failed_reauthentications += 1
                return _CLOSE
            stats.reauthentications += 1
            return _ANSWERED
        if gate.session_expired():
            self.budget.release(length)
            self.broker.authentications.expired_connections_killed += 1
            self._closing_log(
                f"{self.client_host} expired",
                "closing connection from %s: SASL session of %s expired",
                self.client_host,
                gate.principal,
            )
            return _CLOSE
        return _SERVE

    async def _exchange(self, gate: SaslGate, first: tuple[bytes, int] | None = None) -> bool:
        """Serve the SASL exchange one frame at a time (and ApiVersions before the first
        authentication), starting with `first` if it was already read, until the client
        authenticated (True) or the connection must close (False); any other request
        raises, closing it as Kafka does."""
        loop = asyncio.get_running_loop()
        while gate.exchanging:
            if first is not None:
                body, length = first
                first = None
            else:
                self._at_boundary = True
                await self._slots.acquire()
                try:
                    prefix = await self.reader.read_prefix(self.broker.config.max_request_bytes)
                except asyncio.IncompleteReadError as exc:
                    if exc.partial:
                        raise
                    return False
                self._at_boundary = False
                self.last_active = self._body_since = loop.time()
                length = parse_length(prefix, self.broker.config.max_request_bytes)
                # The SASL exchange reads tokens as bytes; a large body comes as a view.
                body = bytes(await self._read_body(length))
                self._body_since = None
            close = False
            try:
                api_key = -1 if gate.raw_tokens else codec.peek_header(body)[0]
                if api_key == ApiKey.API_VERSIONS and not gate.reauthenticating:
                    reply = await handle_frame(
                        self.broker, body, self.client_host, listener=self.listener
                    )
                else:
                    step = gate.raw(body) if api_key < 0 else gate.answer(api_key, body)
                    reply, close = step.reply, step.close
            finally:
                self.budget.release(length)
            self._in_flight += 1
            if close:
                # Kafka holds a failed login's answer (nothing more is read meanwhile),
                # then sends it and closes; our caller's end marker closes the connection
                # after the answer is written and `_linger` has returned.
                delay_ms = self.broker.config.connection_failed_authentication_delay_ms
                await asyncio.sleep(delay_ms / 1000)
                self._pending.put_nowait(asyncio.create_task(_ready(reply)))
                await self._linger()
                return False
            self._pending.put_nowait(asyncio.create_task(_ready(reply)))
        assert gate.principal is not None
        self.principal = gate.principal
        return True

    async def _linger(self) -> None:
        """Give a refused client time to read its answer before we close: a client that
        sees the close in the same read as the answer may report only "disconnected"
        (kafka-python does, against Kafka too, some of the time). Whatever it sends
        meanwhile is dropped unanswered; it closing ends the wait."""
        with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
            async with asyncio.timeout(FAILED_LOGIN_LINGER_S):
                while await self.reader.read(65536):
                    pass

    async def _read_body(self, length: int) -> bytes | memoryview:
        """`length` body bytes, charged to the shared budget as they arrive (at most four
        times what arrived; waiting for budget stops reading this connection until others
        drain)."""
        self._body_length = length
        return await self.reader.read_body(length, self.budget)

    def expired(self, now: float) -> str | None:
        """Why this connection must close at loop time `now`, if it must: a body that did
        not arrive within its deadline, or silence past connections.max.idle.ms with
        nothing in flight. Checked by the listener's sweep, so a frame pays no timer."""
        config = self.broker.config
        since = self._body_since
        if since is not None:
            if (now - since) * 1000 > config.request_body_timeout_ms:
                return (
                    f"{self.reader.body_arrived} of {self._body_length} body bytes arrived within "
                    f"{config.request_body_timeout_ms} ms"
                )
        elif (
            self._at_boundary
            and not self._in_flight
            and (now - self.last_active) * 1000 > config.connections_max_idle_ms
        ):
            return f"idle for more than {config.connections_max_idle_ms} ms"
        return None

    def expire(self, reason: str) -> None:
        """Stop reading (mid-frame too, giving back its charge) and close once the requests
        already read are answered."""
        if self._reading is not None and not self._reading.done() and self._expired is None:
            self._expired = reason
            self._reading.cancel()

    async def _answer(self) -> None:
        while True:
            item = await self._pending.get()
            if item is None:
                return
            reply = await item
            if reply is not None:
                await self.replies.send(reply)
            self._in_flight -= 1
            self.last_active = asyncio.get_running_loop().time()
            self._slots.release()
