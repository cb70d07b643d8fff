"""Producer-id allocation for InitProducerId, never reusing an id across restarts.

Owns the counter and its durable high-water mark: ids are reserved in blocks, and the end
of a block is written (atomically) under `state_dir("producers")` before any id of the
block is handed out, so a crash can skip ids but never repeat one.

The event loop never waits for that write, as Kafka's broker never waits for its next
block: the first block is reserved when the allocator is made (before the broker serves
anyone), and the next one in a thread once half of the current one is handed out. Only
when a block is spent before the next is on disk (the disk stalls or refuses the mark,
or ids are asked for faster than one write) is InitProducerId answered
COORDINATOR_LOAD_IN_PROGRESS, which clients retry (Kafka's answer while its broker waits
for a block of ids); a refused mark reserves nothing and is tried again. Without a running
event loop (tools, tests) the mark is written inline. It must never know about partitions
or sockets.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from pathlib import Path

from logstore.durable import write_atomic
from logstore.error_codes import COORDINATOR_LOAD_IN_PROGRESS
from logstore.producers.state import ProducerStateError

BLOCK = 1000
ID_FILE = "next-producer-id"

log = logging.getLogger(__name__)


class ProducerIdAllocator:
    def __init__(self, state_dir: Path, *, block: int = BLOCK) -> None:
        self._path = Path(state_dir) / ID_FILE
        self._block = block
        try:
            self._next = int(self._path.read_text().strip())
        except (FileNotFoundError, ValueError):
            self._next = 0
        # Everything below the stored mark may have been handed out before a crash.
        self._reserved_until = self._next
        # The next block's mark while a thread writes it.
        self._reserving: asyncio.Future[None] | None = None
        # Why the last mark was not written (said to clients until one is).
        self._refused: Exception | None = None
        try:
            self._write(self._next + self._block)
        except OSError as exc:  # allocate() tries again; the broker still starts
            self._refused_mark(exc)

    def allocate(self) -> int:
        """The next id; ProducerStateError(COORDINATOR_LOAD_IN_PROGRESS) while no reserved
        id is left."""
        if self._next >= self._reserved_until and not self._reserve_in_background():
            try:
                self._write(self._reserved_until + self._block)
            except OSError as exc:
                self._refused_mark(exc)
        if self._next >= self._reserved_until:
            reason = "waiting for the disk" if self._refused is None else str(self._refused)
            raise ProducerStateError(
                COORDINATOR_LOAD_IN_PROGRESS, f"could not reserve producer ids: {reason}"
            )
        pid = self._next
        self._next += 1
        if self._reserved_until - self._next <= self._block // 2:
            self._reserve_in_background()
        return pid

    def _write(self, mark: int) -> None:
        """Write `mark` inline (blocking), then hand out ids below it."""
        _write_mark(self._path, mark)
        self._now_reserved(mark)

    def _now_reserved(self, mark: int) -> None:
        self._reserved_until = max(self._reserved_until, mark)
        if self._refused is not None:
            log.info("producer ids are reserved again (up to %d)", mark)
        self._refused = None

    def _refused_mark(self, exc: Exception) -> None:
        if self._refused is None:  # once until a mark is written again
            log.warning("could not reserve producer ids: %s", exc)
        self._refused = exc

    def _reserve_in_background(self) -> bool:
        """Start writing the next block's mark in a thread, unless one is being written;
        False when no event loop runs (the caller writes it inline)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        if self._reserving is None:
            mark = self._reserved_until + self._block
            self._reserving = loop.run_in_executor(None, _write_mark, self._path, mark)
            self._reserving.add_done_callback(functools.partial(self._reserved, mark))
        return True

    def _reserved(self, mark: int, done: asyncio.Future[None]) -> None:
        """On the loop, once the thread is done: the block is usable, or why it is not."""
        self._reserving = None
        if done.cancelled():
            return
        exc = done.exception()
        if exc is None:
            self._now_reserved(mark)
        elif isinstance(exc, Exception):
            self._refused_mark(exc)


def _write_mark(path: Path, mark: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, str(mark).encode())
