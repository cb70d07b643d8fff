"""Storage's notable events are logged once each, with their reason: segments deleted by
retention and compaction passes (what an operator looks for when data disappears)."""

from __future__ import annotations

import logging

import pytest

from logstore.clock import ManualClock
from logstore.records import build_batch
from logstore.storage import LogManager

from .helpers import batch

BATCH = len(batch(1))


def test_retention_deletion_is_logged_once_with_its_limits(
    manager: LogManager, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    manager.create_topic("t", 1, {"internal.segment.bytes": str(BATCH), "retention.ms": "1000"})
    log = manager.log("t", 0)
    for age in (5000, 4000, 0):
        log.append(batch(1, ts=clock.now_ms() - age))
    with caplog.at_level(logging.INFO, logger="logstore.storage"):
        manager.tick()
        manager.tick()  # nothing more expired: nothing more logged
    lines = [r.getMessage() for r in caplog.records if "retention deleted" in r.getMessage()]
    assert lines == [
        "retention deleted 2 segment(s) of t-0 (retention.ms=1000, retention.bytes=-1); "
        "log start offset now 2"
    ]


def test_a_compaction_pass_is_logged_with_what_it_removed(
    manager: LogManager, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    manager.create_topic(
        "c",
        1,
        {
            "cleanup.policy": "compact",
            "internal.segment.bytes": "300",
            "min.cleanable.dirty.ratio": "0.01",
        },
    )
    log = manager.log("c", 0)
    for i in range(40):
        log.append(build_batch([(b"k%d" % (i % 5), b"v%d" % i)], timestamp=clock.now_ms()))
    with caplog.at_level(logging.INFO, logger="logstore.storage"):
        assert manager.tick()["cleaned"] == 1
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("compacted c-0")]
    assert len(lines) == 1
    assert "records removed (cleanup.policy=compact" in lines[0]
    removed = int(lines[0].split(" bytes, ")[1].split(" records")[0])
    assert removed > 0
