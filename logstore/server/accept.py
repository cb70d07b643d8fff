"""Every listener's own accept loop. Each connection is admitted against the connection
caps before anything else runs on it (on a TLS listener, before its handshake): half-open
handshakes count like any connection (Kafka counts a connection from its accept), and a
flood of them is refused at the caps instead of taking descriptors past them.

The event loop's own servers are not used because of what they do when the process is out
of descriptors: uvloop (libuv) then accepts and closes every pending connection through a
reserve descriptor, and when another thread took that reserve in the meantime it reports
EMFILE to the server, which closes its listening socket for good. Here accepting pauses a
second instead and the pending connections wait in the backlog (asyncio's own behaviour).

Owns the listening socket of one listener, the accept loop, the TLS handshake with its
deadline through the event loop's `connect_accepted_socket`, and the tasks of connections
not yet served. It must never decide who may connect (the caller's `admit`), read frames,
nor close a socket the event loop's transport owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable

from logstore.server.admission import hold_then_close
from logstore.server.frame_stream import FrameStream

log = logging.getLogger("logstore.server")

BACKLOG = 512
# How long accepting pauses when the process has no descriptor left (asyncio's own delay).
ACCEPT_RETRY_DELAY_S = 1.0
# accept() failures that concern one connection only: the next one is accepted at once.
_ONE_CONNECTION = frozenset({errno.ECONNABORTED, errno.EPROTO, errno.EPERM})

Serve = Callable[[FrameStream, asyncio.StreamWriter, str], Awaitable[None]]


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=BACKLOG)
    sock.setblocking(False)
    return sock


class Acceptor:
    """Accepts on (host, port); `admit(host)` counts a connection in (False: closed at
    once), `hold(host)` says how long to keep it unread before closing it (0: serve it),
    `release(host)` counts it out when it ends, `serve` runs it (with `context`, once its
    TLS handshake finished), and `failed(host, exc)` hears of a connection that could not
    be set up (a failed TLS handshake, or a socket the event loop refused)."""

    def __init__(
        self,
        host: str,
        port: int,
        context: ssl.SSLContext | None,
        handshake_timeout_s: float,
        *,
        admit: Callable[[str], bool],
        hold: Callable[[str], int],
        release: Callable[[str], None],
        serve: Serve,
        failed: Callable[[str, OSError], None],
    ) -> None:
        self._sock = _listening_socket(host, port)
        self.port: int = self._sock.getsockname()[1]
        self._context = context
        self._timeout = handshake_timeout_s
        self._admit, self._release, self._serve, self._failed = admit, release, serve, failed
        self._hold = hold
        self._accepting: asyncio.Task[None] | None = None
        self._unserved: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._accepting = asyncio.create_task(self._accept_loop())

    async def close(self) -> None:
        """Stop accepting and abandon the connections not yet served (admission, hold,
        handshake); connections already being served carry on (the caller stops them)."""
        tasks = [t for t in (self._accepting, *self._unserved) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._sock.close()

    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, peer = await loop.sock_accept(self._sock)
            except OSError as exc:
                if exc.errno in _ONE_CONNECTION:
                    continue
                # Out of descriptors (EMFILE, ENFILE) or kernel memory (ENOBUFS, ENOMEM).
                log.warning(
                    "accepting connections on port %d paused for a second: %s", self.port, exc
                )
                await asyncio.sleep(ACCEPT_RETRY_DELAY_S)
                continue
            task = asyncio.create_task(self._connection(conn, str(peer[0])))
            self._unserved.add(task)
            task.add_done_callback(self._unserved.discard)

    async def _connection(self, conn: socket.socket, host: str) -> None:
        task = asyncio.current_task()
        if not self._admit(host):
            conn.close()  # refused: closed at once, as Kafka does
            return
        try:
            hold_ms = self._hold(host)
            if hold_ms:
                # Over its connection creation rate: not served (no TLS handshake either).
                await hold_then_close(hold_ms, conn.close)
                return
            stream = await self._stream(conn, host)
            # Served like any connection from here: shutdown stops it gracefully.
            self._unserved.discard(task)
            if stream is not None:
                await self._serve(*stream, host)
        finally:
            self._release(host)

    async def _stream(
        self, conn: socket.socket, host: str
    ) -> tuple[FrameStream, asyncio.StreamWriter] | None:
        """The frame stream over `conn`; on a TLS listener None when the handshake failed
        or missed its deadline (the event loop then closed the socket)."""
        loop = asyncio.get_running_loop()
        # Read as frames: the TLS layer decrypts straight into the stream's buffers.
        stream = FrameStream(loop)
        try:
            if self._context is None:
                transport, _ = await loop.connect_accepted_socket(lambda: stream, conn)
            else:
                transport, _ = await loop.connect_accepted_socket(
                    lambda: stream, conn, ssl=self._context, ssl_handshake_timeout=self._timeout
                )
        except OSError as exc:  # SSL errors, resets and the deadline alike
            conn.close()  # a no-op once the event loop closed it
            self._failed(host, exc)
            return None
        return stream, stream.writer(transport)
