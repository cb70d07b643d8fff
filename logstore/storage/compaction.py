"""`CompactionScheduler`: one compaction at a time, planned and installed on the caller's
thread, built on the cleaner executor.

Each call to `step` first installs a finished job (or abandons it, see
`cleaner.install`), then, if nothing is running, plans a job for the next compacted
partition that needs one (round robin) and submits its `build`. With an inline executor
the job is finished and installed in the same step.

Owns the running job, the round-robin cursor and the outcome counters. It must never
build on the caller's thread (that is the executor's) nor install on the worker's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from pathlib import Path

from logstore.storage.cleaner import (
    BuiltClean,
    CleaningCancelled,
    CleanJob,
    Throttle,
    TransactionView,
    build,
    install,
    plan,
)
from logstore.storage.partition import PartitionLog

log = logging.getLogger(__name__)


class CompactionScheduler:
    """Runs at most one `CleanJob`; see the module docstring."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate  # bytes per second for the worker's I/O; None = unlimited
        self.running: tuple[CleanJob, Future[BuiltClean]] | None = None
        self._cursor = 0
        self.transactions: TransactionView | None = None  # lent by the broker
        # Outcomes, for tests and logs.
        self.stats = {"started": 0, "installed": 0, "abandoned": 0, "failed": 0}

    def step(
        self,
        logs: Sequence[PartitionLog],
        now_ms: int,
        executor: Executor,
        live: Callable[[PartitionLog], PartitionLog | None],
        sync_dir: Callable[[Path], None],
    ) -> int:
        """Install what finished, start what is due; returns how many were installed.
        `live(log)` is the manager's current log for that partition (None if deleted)."""
        installed = self._finish(live, sync_dir)
        if self.running is None:
            self._start(logs, now_ms, executor)
            installed += self._finish(live, sync_dir)  # an inline executor is done already
        return installed

    def _start(self, logs: Sequence[PartitionLog], now_ms: int, executor: Executor) -> None:
        candidates = [p for p in logs if p.config.compact and not p.recovery_error]
        if not candidates:
            return
        start = self._cursor % len(candidates)
        for i in range(len(candidates)):
            candidate = candidates[(start + i) % len(candidates)]
            job = plan(candidate, now_ms, transactions=self.transactions)
            if job is None:
                continue
            self._cursor = start + i + 1
            job.throttle = Throttle(self.rate, wait=job.cancel.wait)
            self.running = (job, executor.submit(build, job))
            self.stats["started"] += 1
            return

    def _finish(
        self,
        live: Callable[[PartitionLog], PartitionLog | None],
        sync_dir: Callable[[Path], None],
    ) -> int:
        if self.running is None or not self.running[1].done():
            return 0
        job, future = self.running
        self.running = None
        exc = future.exception()
        if isinstance(exc, CleaningCancelled):
            self.stats["abandoned"] += 1
            return 0
        if exc is not None:
            self.stats["failed"] += 1
            log.error("compaction of %s failed: %s", job.log.name, exc)
            return 0
        try:
            result = install(future.result(), live(job.log), sync_dir=sync_dir)
        except OSError as exc:  # the partition is marked unusable; the broker carries on
            self.stats["failed"] += 1
            log.error("installing the compaction of %s failed: %s", job.log.name, exc)
            return 0
        if result is None:
            self.stats["abandoned"] += 1
            return 0
        self.stats["installed"] += 1
        log.info(
            "compacted %s: %d segments, %d -> %d bytes, %d records removed "
            "(cleanup.policy=compact, dirty ratio reached)",
            job.log.name,
            result.segments,
            result.bytes_before,
            result.bytes_after,
            result.records_removed,
        )
        return 1

    def cancel_for(self, partition: PartitionLog) -> None:
        """The partition is going away: stop its job early (its files go with it)."""
        if self.running is not None and self.running[0].log is partition:
            self.running[0].cancel.set()

    def stop(self) -> None:
        """Cancel a running job and wait for its thread to let go (close)."""
        if self.running is None:
            return
        job, future = self.running
        self.running = None
        job.cancel.set()
        exc = future.exception()  # waits; build removes its own files when cancelled
        if exc is None:
            future.result().discard()

    def idle(self, timeout: float | None = None) -> bool:
        """Wait until no job is being built; False on timeout."""
        if self.running is None:
            return True
        try:
            self.running[1].exception(timeout=timeout)
        except TimeoutError:
            return False
        return True
