"""Fixtures for storage tests: a manual clock and a LogManager over a temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from logstore.clock import ManualClock
from logstore.storage import LogManager


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def manager(tmp_path: Path, clock: ManualClock) -> Iterator[LogManager]:
    mgr = LogManager(tmp_path / "data", clock=clock, fsync="never").open()
    yield mgr
    mgr.close()
