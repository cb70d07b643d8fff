"""A byte budget shared by all connections: caps the request bytes held in memory at once.

Owns only the accounting. It must never read sockets. A connection charges body bytes as
they arrive (never the length a prefix merely claims), so a client that sends a prefix and
nothing else holds nothing, and gives them back once the request is answered.
"""

from __future__ import annotations

import asyncio


class ByteBudget:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.available = capacity
        self._changed = asyncio.Condition()
        self._waiting = 0

    def try_acquire(self, n: int) -> bool:
        """Charge `n` bytes at once if they fit and nobody is waiting (no await)."""
        if self.available >= n and not self._waiting:
            self.available -= n
            return True
        return False

    async def acquire(self, n: int) -> None:
        # The config keeps the budget at least one maximal frame, so a frame whose bytes
        # are all charged can always finish once the others drained.
        if self.try_acquire(n):
            return  # the common case: no lock
        self._waiting += 1
        try:
            async with self._changed:
                await self._changed.wait_for(lambda: self.available >= n)
                self.available -= n
        finally:
            self._waiting -= 1

    async def release(self, n: int) -> None:
        self.available += n
        if self._waiting:
            async with self._changed:
                self._changed.notify_all()
