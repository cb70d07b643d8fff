"""A byte budget shared by all connections: caps the request bytes held in memory at once.

Owns only the accounting. It must never read sockets; the connection asks for a frame's
size before reading it and gives it back once the request is answered.
"""

from __future__ import annotations

import asyncio


class ByteBudget:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.available = capacity
        self._changed = asyncio.Condition()

    async def acquire(self, n: int) -> None:
        # A single frame bigger than the whole budget still gets in once the rest drained;
        # the frame limit (checked before this) is what bounds a single request.
        n = min(n, self.capacity)
        async with self._changed:
            await self._changed.wait_for(lambda: self.available >= n)
            self.available -= n

    async def release(self, n: int) -> None:
        n = min(n, self.capacity)
        async with self._changed:
            self.available += n
            self._changed.notify_all()
