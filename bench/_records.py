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


def row(label: str, nbytes: int, records: int, seconds: float, baseline: float | None) -> str:
    mb_s = nbytes / seconds / 1e6
    rec_s = records / seconds
    ratio = "" if baseline is None else f"{baseline / seconds * 100:6.0f}%"
    return f"  {label:<34} {mb_s:9.1f} MB/s {rec_s:13,.0f} rec/s {ratio}"
