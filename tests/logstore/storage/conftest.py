"""Fixtures for storage tests: a manual clock and a LogManager over a temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from logstore.clock import ManualClock
from logstore.storage import LogManager
from logstore.storage.background import InlineExecutor


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def manager(tmp_path: Path, clock: ManualClock) -> Iterator[LogManager]:
    # Background steps run inline, so one tick does what it starts; tests of the
    # threads themselves build their own manager. Retention is checked on every tick
    # (Kafka's default waits 5 minutes between checks) so a tick shows its effect.
    mgr = open_inline(tmp_path / "data", clock)
    yield mgr
    mgr.close()


def open_inline(path: Path, clock: ManualClock) -> LogManager:
    """A LogManager whose background steps run inline (reopened by restart tests)."""
    return LogManager(
        path,
        clock=clock,
        fsync="never",
        retention_check_interval_ms=0,
        cleaner_executor=InlineExecutor(),
        io_executor=InlineExecutor(),
    ).open()
