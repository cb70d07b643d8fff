"""A byte budget shared by all connections: caps the request bytes held in memory at once.

Owns only the accounting. It must never read sockets. A connection charges a body's bytes
once its reader takes the body, as the body's buffer grows with what arrived (at most four
times the bytes that arrived, or 64 KiB; never the length a prefix merely claims: see
logstore.server.frame_stream), so a client that sends a prefix and nothing else holds
nothing, and gives them back as soon as the request has been handled
(not when its answer is sent), so a client that stops reading its answers holds nothing
either. Waiters are served first come, first served.
"""

from __future__ import annotations

import asyncio
from collections import deque


class ByteBudget:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.available = capacity
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()

    def try_acquire(self, n: int) -> bool:
        """Charge `n` bytes at once if they fit and nobody is waiting (no await)."""
        if self.available >= n and not self._waiters:
            self.available -= n
            return True
        return False

    async def acquire(self, n: int) -> None:
        """Charge `n` bytes, waiting for them. The config keeps the budget at least one
        maximal frame, so a frame whose bytes are all charged can always finish."""
        if self.try_acquire(n):
            return
        waiter = (n, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        try:
            await waiter[1]
        except asyncio.CancelledError:
            if waiter[1].done() and not waiter[1].cancelled():
                self.release(n)  # granted just as it was cancelled
            else:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                self._grant()
            raise

    def release(self, n: int) -> None:
        """Give back `n` charged bytes (callable from any callback on the loop)."""
        self.available += n
        self._grant()

    def _grant(self) -> None:
        while self._waiters and self._waiters[0][0] <= self.available:
            n, fut = self._waiters.popleft()
            if not fut.done():
                self.available -= n
                fut.set_result(None)
