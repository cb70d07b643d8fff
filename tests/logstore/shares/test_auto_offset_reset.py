"""`share.auto.offset.reset`: where a new share-partition starts (earliest, latest, and
by_duration against the injected clock), and which values are accepted."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from logstore.clock import ManualClock
from logstore.groups.settings import GroupSettings
from logstore.records.builder import build_batch
from logstore.shares import group_configs
from logstore.shares.coordinator import ShareCoordinator
from logstore.storage import LogManager

MINUTE = 60_000


@pytest.mark.parametrize(
    ("reset", "start"),
    [
        ("earliest", 0),
        ("latest", 30),
        ("by_duration:PT25M", 10),  # records 10.. are at most 25 minutes old
        ("by_duration:PT1H", 0),
        ("by_duration:PT1M", 30),  # nothing that recent: the log end
    ],
)
def test_a_new_share_partition_starts_where_the_reset_says(
    tmp_path: Path, reset: str, start: int
) -> None:
    clock = ManualClock()
    logs = LogManager(tmp_path, fsync="never", clock=clock).open()
    info = logs.create_topic("t", 1)
    log = logs.log("t", 0)
    now = clock.now_ms()
    for minutes_ago in (30, 20, 10):  # offsets 0-9, 10-19, 20-29
        batch = build_batch([(None, b"v")] * 10, timestamp=now - minutes_ago * MINUTE)
        log.append(batch)
    shares = ShareCoordinator(logs, clock, GroupSettings())
    asyncio.run(shares.alter_configs("g", {group_configs.AUTO_OFFSET_RESET: reset}, []))
    assert shares.partition("g", (info.topic_id, 0), log).spso == start
    logs.close()


@pytest.mark.parametrize("value", ["by_duration:", "by_duration:PT", "by_duration:1h", "never"])
def test_bad_reset_values_are_refused(value: str) -> None:
    with pytest.raises(group_configs.GroupConfigRefused):
        group_configs.validate(GroupSettings(), group_configs.AUTO_OFFSET_RESET, value)


def test_durations_in_kafkas_notation() -> None:
    assert group_configs.by_duration_ms("by_duration:P1DT2H3M4.5S") == 93_784_500
    assert group_configs.by_duration_ms("by_duration:PT0.5S") == 500
