"""Worker threads for storage upkeep, with results applied back on the caller's thread.

The LogManager is driven from the event loop, so anything that may block on the disk
(compaction, checkpoint writes with fsync, unlinking big files) is submitted here; the
callback that applies a result to live state runs later on the caller's thread, from
`collect()` (called by every `tick`). Executors are injectable: tests pass
`InlineExecutor` to make a step synchronous, or their own executor to hold a step open.

Owns the two executors (cleaner: one long job at a time; io: short ordered file jobs) and
the queue of results not yet applied. It must never touch partition state itself: only
the callbacks, on the caller's thread, do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import Any

log = logging.getLogger(__name__)


class InlineExecutor(Executor):
    """Runs each task inside `submit` (tests and tools: background steps become synchronous)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


class Background:
    """The cleaner and io executors plus file jobs whose results wait to be applied."""

    def __init__(self, cleaner: Executor | None = None, io: Executor | None = None) -> None:
        self._owned: list[Executor] = []
        self.cleaner = cleaner or self._own(ThreadPoolExecutor(1, "logstore-cleaner"))
        self.io = io or self._own(ThreadPoolExecutor(1, "logstore-io"))
        self._pending: list[tuple[Future[Any], Callable[[Any], None] | None, str]] = []
        self.errors = 0
        self.closed = False

    def _own(self, executor: Executor) -> Executor:
        self._owned.append(executor)
        return executor

    def run_io(
        self, fn: Callable[[], Any], then: Callable[[Any], None] | None = None, what: str = ""
    ) -> None:
        """Run `fn` on the io thread (in submission order); `then(result)` runs on the
        caller's thread at the next `collect()` after it finished."""
        self._pending.append((self.io.submit(fn), then, what))

    @property
    def io_pending(self) -> int:
        """Submitted io jobs whose results were not applied yet."""
        return len(self._pending)

    def collect(self) -> int:
        """Apply the results of finished io jobs, in order; returns how many."""
        done = 0
        while self._pending and self._pending[0][0].done():
            future, then, what = self._pending.pop(0)
            done += 1
            exc = future.exception()
            if exc is not None:
                # Upkeep failures (a full disk) must not kill the broker; the next
                # checkpoint or close retries what matters.
                self.errors += 1
                log.error("background %s failed: %s", what or "job", exc)
            elif then is not None:
                then(future.result())
        return done

    def wait_io(self, timeout: float | None = None) -> None:
        """Block until every submitted io job finished, then apply the results."""
        wait_futures([f for f, _, _ in self._pending], timeout=timeout)
        self.collect()

    def shutdown(self) -> None:
        """Finish io jobs and stop the executors this object created."""
        self.wait_io()
        for executor in self._owned:
            executor.shutdown(wait=True, cancel_futures=True)
        self.closed = True
