"""Shared bench helpers: RecordBatch v2 bytes of 1,000 records, scratch dirs, formatting.

Owns nothing the product uses. It must never be imported by logstore or by pass/fail tests.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from logstore.records import build_batch

RECORDS_PER_BATCH = 1000
ROOT = Path(__file__).resolve().parents[1]


def make_batches(record_size: int, count: int) -> list[bytes]:
    """`count` distinct uncompressed batches of 1,000 records with `record_size`-byte values."""
    batches = []
    now = time.time_ns() // 1_000_000  # current, so retention leaves the data alone
    for b in range(count):
        value = (b"%08d" % b) + b"x" * (record_size - 8)
        batches.append(build_batch([(None, value)] * RECORDS_PER_BATCH, timestamp=now + b))
    return batches


@contextmanager
def scratch_dir(base: Path | None = None) -> Iterator[Path]:
    """A temporary directory on the same disk as the project (not tmpfs)."""
    parent = base or ROOT / "var" / "bench"
    parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class Clock:
    """Wall time and this thread's CPU time (steadier than wall time on a shared machine;
    it leaves out fsync threads and the read bench's socket drainer)."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.thread_time()

    def stop(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.thread_time() - self.cpu


def best(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    return min(a[0], b[0]), min(a[1], b[1])


def row(
    label: str,
    nbytes: int,
    records: int,
    timing: tuple[float, float],
    baseline: tuple[float, float] | None,
) -> str:
    """MB/s and records/s by wall time; with a baseline, wall and CPU-time ratios."""
    wall, cpu = timing
    text = f"  {label:<44} {nbytes / wall / 1e6:8.1f} MB/s {records / wall:13,.0f} rec/s"
    if baseline is not None:
        text += f"  {baseline[0] / wall * 100:4.0f}% wall"
        text += f"  {baseline[1] / max(cpu, 1e-9) * 100:4.0f}% cpu"
    return text
