"""One client connection: read frames, answer them in order, close on protocol errors.

Owns the per-connection loop and its rules: the length prefix is checked before the body
is read (never allocating a hostile size), requests are handled one at a time in arrival
order (as Kafka does, which keeps produce ordering trivially correct), and a frame that
cannot be trusted closes this connection only. It must never interpret requests.
"""

from __future__ import annotations

import asyncio
import logging

from logstore.broker.context import Broker
from logstore.broker.dispatch import handle_frame
from logstore.protocol.errors import ProtocolError
from logstore.protocol.framing import LENGTH_PREFIX_BYTES, parse_length
from logstore.server.budget import ByteBudget
from logstore.server.send import ReplyWriter

log = logging.getLogger("logstore.server")


class Connection:
    def __init__(
        self,
        broker: Broker,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        budget: ByteBudget,
    ) -> None:
        self.broker = broker
        self.reader = reader
        self.writer = writer
        self.budget = budget
        peer = writer.get_extra_info("peername")
        self.client_host = str(peer[0]) if peer else "unknown"
        self.busy = False  # True while a request is being handled (shutdown waits for it)
        self.closing = False
        self.replies = ReplyWriter(writer)

    async def run(self) -> None:
        try:
            await self._loop()
        except asyncio.IncompleteReadError as exc:
            if exc.partial or self.busy:
                log.info("connection from %s ended mid-frame", self.client_host)
        except (ProtocolError, ConnectionError) as exc:
            log.info("closing connection from %s: %s", self.client_host, exc)
        except asyncio.CancelledError:
            pass
        except Exception:
            # A handler bug must cost one connection, never the broker.
            log.exception("unexpected error; closing connection from %s", self.client_host)
        finally:
            self.writer.close()
            try:
                await asyncio.wait_for(self.writer.wait_closed(), 1.0)
            except (Exception, asyncio.CancelledError):
                pass

    async def _loop(self) -> None:
        max_bytes = self.broker.config.max_request_bytes
        while not self.closing:
            prefix = await self.reader.readexactly(LENGTH_PREFIX_BYTES)
            length = parse_length(prefix, max_bytes)
            self.busy = True
            await self.budget.acquire(length)
            try:
                body = await self.reader.readexactly(length)
                reply = await handle_frame(self.broker, body, self.client_host)
                del body
                if reply is not None:
                    await self.replies.send(reply)
            finally:
                await self.budget.release(length)
                self.busy = False
