"""Helpers shared by storage tests: build batches and read back what a log holds."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

from logstore.records import Record, build_batch, decode_records, split_batches
from logstore.storage import PartitionLog


def batch(
    n: int = 1, *, key: bytes | None = b"k", size: int = 20, ts: int = 0, tag: str = ""
) -> bytes:
    return build_batch(
        [(key, f"{tag}{i}".encode().ljust(size, b".")) for i in range(n)], timestamp=ts
    )


def read_all(log: PartitionLog, start: int | None = None) -> list[Record]:
    """Every record from `start` (default log start) to the end, through `read`."""
    offset = log.log_start_offset if start is None else start
    out: list[Record] = []
    while offset < log.log_end_offset:
        data = log.read_batches(offset, 1 << 20)
        if not data:
            break
        for view in split_batches(data):
            out.extend(r for r in decode_records(view) if r.offset >= offset)
        last = out[-1].offset if out else offset
        offset = max(offset + 1, last + 1)
    return out


class GatedExecutor(Executor):
    """Holds submitted jobs until the test runs them (on the test's thread), so a test can
    look at the state while a background step is still pending."""

    def __init__(self) -> None:
        self.jobs: list[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self.jobs.append((future, fn, args))
        return future

    def run_all(self) -> None:
        jobs, self.jobs = self.jobs, []
        for future, fn, args in jobs:
            try:
                future.set_result(fn(*args))
            except BaseException as exc:
                future.set_exception(exc)
