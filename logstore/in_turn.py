"""Changes to durable state that run one at a time and, once started, to their end.

A change that writes a file in a worker thread and then applies itself on the event loop
needs both: run concurrently, two changes would each write a copy lacking the other's;
cancelled between the write and the apply (its client went away), memory would fall
behind the file, and a restart would bring back what nobody was told about.

Owns only that ordering. It must never do the I/O itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


class InTurn:
    """Runs async changes one after another; cancelling a caller never stops its change."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    async def run(self, change: Callable[[], Awaitable[T]]) -> T:
        """Wait for the changes before, run `change`, and return (or raise) its outcome."""

        async def locked() -> T:
            async with self._lock:
                return await change()

        task = asyncio.ensure_future(locked())
        task.add_done_callback(_retrieve)
        return await asyncio.shield(task)

    async def idle(self) -> None:
        """Return once every change started before this call has ended (the lock is
        first come, first served), even those whose callers were cancelled."""
        async with self._lock:
            pass


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark the outcome seen: if the caller was cancelled, the error was its client's to
    see, not a 'never retrieved' warning."""
    if not task.cancelled():
        task.exception()
