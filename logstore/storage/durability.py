"""Group commit: fsyncs that run off the event loop and serve every waiting producer.

Producers call `wait(log, offset)` after appending. Every waiter that arrives before the
next fsync round starts (the same loop turn, or while the previous fsync was running) is
served by one fsync per touched partition; the fsyncs run off the loop, each opening its
file by path (`fsync_paths`: up to eight at once), so a round holds a
bounded number of descriptors however many partitions it covers. The
same machinery runs the "interval" policy's periodic flush in the background.

A failed fsync takes that partition offline (`PartitionLog.sync_failed`): its waiters are
answered KAFKA_STORAGE_ERROR and no later round acknowledges it, because the kernel may
have dropped the pages it failed to write. Partitions whose own fsyncs succeeded in the
same round are answered as usual.

Owns the waiter queue and the flush rounds. It must never write data, decide the fsync
policy (the LogManager does) or block the event loop.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Iterable
from pathlib import Path

from logstore.storage.errors import KafkaStorageError, UnknownTopicOrPartitionError
from logstore.storage.files import FsyncFailed, fsync_paths
from logstore.storage.partition import PartitionLog

# When appended bytes reach the disk: before acks=all is answered, every N ms, or when the
# OS decides. Storage owns the choice; the broker's settings only name it.
FSYNC_POLICIES = ("always", "interval", "never")
# Upper bounds in seconds of the fsync-round latency histogram.
FSYNC_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)


class GroupCommit:
    def __init__(self) -> None:
        self._waiters: list[tuple[PartitionLog, int, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self._background: asyncio.Task[set[int]] | None = None
        # Counters for tests, benches and metrics: flush rounds and descriptors fsynced.
        self.stats = {"flush_rounds": 0, "fsyncs": 0}
        # How long rounds took: counts per FSYNC_BUCKETS bound (+ one past the last), total.
        self.round_buckets = [0] * (len(FSYNC_BUCKETS) + 1)
        self.round_seconds = 0.0

    async def wait(self, log: PartitionLog, offset: int) -> None:
        """Return once `offset` of `log` is fsynced, sharing the fsync with other waiters;
        UnknownTopicOrPartitionError if the topic is deleted first, KafkaStorageError if
        the partition is (or goes) offline, e.g. after a failed fsync."""
        if offset < log.flushed_offset:
            return
        if log.deleted:  # deleted between the append and this wait
            raise _deleted(log)
        if log.offline:
            raise _offline(log)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._waiters.append((log, offset, fut))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._serve_waiters())
        await fut

    async def _flush(self, logs: Iterable[PartitionLog]) -> set[int]:
        """One round: fsync every log with unflushed data, in a thread; the ids of the
        logs it covered."""
        jobs = [(log, job) for log in logs if (job := log.begin_flush()) is not None]
        if not jobs:
            return set()
        self.stats["flush_rounds"] += 1
        self.stats["fsyncs"] += sum(len(paths) for _, (paths, _) in jobs)
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        failed: dict[Path, OSError] = {}
        try:
            await loop.run_in_executor(
                None, fsync_paths, [path for _, (paths, _) in jobs for path in paths]
            )
        except FsyncFailed as exc:
            failed = exc.failed
        elapsed = time.perf_counter() - started
        self.round_buckets[bisect.bisect_left(FSYNC_BUCKETS, elapsed)] += 1
        self.round_seconds += elapsed
        for log, (paths, end) in jobs:
            error = next((failed[path] for path in paths if path in failed), None)
            if error is None:
                log.finish_flush(end)
            else:
                log.sync_failed(error)
        return {id(log) for log, _ in jobs}

    async def _serve_waiters(self) -> None:
        while self._waiters:
            # Let producers scheduled in this same loop turn join this round.
            await asyncio.sleep(0)
            waiters, self._waiters = self._waiters, []
            try:
                covered = await self._flush({id(log): log for log, _, _ in waiters}.values())
            except Exception as exc:  # a failed fsync, or a bug: answered, never stranded
                for _, _, fut in waiters:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for log, offset, fut in waiters:
                if fut.done():
                    continue
                if offset < log.flushed_offset:
                    fut.set_result(None)
                elif log.deleted:  # no round will ever cover it: answered, not spun on
                    fut.set_exception(_deleted(log))
                elif log.offline:  # its fsync failed: never acknowledged
                    fut.set_exception(_offline(log))
                elif id(log) in covered:  # appended after this round took its snapshot
                    self._waiters.append((log, offset, fut))
                else:  # nothing of it could be fsynced: queuing it again would only spin
                    fut.set_exception(
                        KafkaStorageError(f"partition {log.name} has no segment to fsync")
                    )

    def flush_in_background(self, logs: Iterable[PartitionLog]) -> bool:
        """Start an fsync round off the loop; False if no loop runs (caller syncs itself)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        if self._background is None or self._background.done():
            self._background = loop.create_task(self._flush(list(logs)))
        return True

    async def drain(self) -> None:
        """Wait for a background round started by `flush_in_background`, if any."""
        if self._background is not None:
            await self._background

    def fail(self, log: PartitionLog | None, exc: BaseException) -> None:
        """Fail the waiters of one log (deleted), or of every log when `log` is None."""
        for wlog, _, fut in self._waiters:
            if (log is None or wlog is log) and not fut.done():
                fut.set_exception(exc)
        self._waiters = [w for w in self._waiters if not w[2].done()]


def _deleted(log: PartitionLog) -> UnknownTopicOrPartitionError:
    return UnknownTopicOrPartitionError(f"{log.topic} was deleted")


def _offline(log: PartitionLog) -> KafkaStorageError:
    return KafkaStorageError(f"partition {log.name} is offline: {log.recovery_error}")
