"""A share session ends with the connection that opened it: the records its member held are
available to the others at once (no lock has to lapse: the injected clock never moves), and
the delivery counted, as in Kafka."""

from __future__ import annotations

import asyncio
from pathlib import Path

from logstore.clock import ManualClock
from logstore.groups.settings import GroupSettings
from logstore.shares.coordinator import PartitionId, ShareCoordinator
from logstore.shares.partition import ACQUIRED, AVAILABLE, RELEASE
from logstore.storage import LogManager

GROUP = "g"
LOCK = 30_000


def _coordinator(path: Path, clock: ManualClock) -> tuple[LogManager, ShareCoordinator]:
    logs = LogManager(path, fsync="never", clock=clock).open()
    if logs.topic("t") is None:
        logs.create_topic("t", 1)
    return logs, ShareCoordinator(logs, clock, GroupSettings())


def _pid(logs: LogManager) -> PartitionId:
    info = logs.topic("t")
    assert info is not None
    return info.topic_id, 0


def test_closing_the_connection_releases_its_sessions_records_at_once(tmp_path: Path) -> None:
    clock = ManualClock()
    logs, shares = _coordinator(tmp_path, clock)
    pid = _pid(logs)
    for member in ("a", "b"):
        result, _ = shares.heartbeat(GROUP, member, 0, ["t"], "c", "/h", None)
        assert result.error == 0
    part = shares.partition(GROUP, pid, logs.log("t", 0))
    shares.sessions.open(GROUP, "a", connection=7).partitions.add(pid)
    now = clock.monotonic_ms()
    assert part.acquire("a", 0, 10, now, LOCK, 500) == [(0, 9, 1)]

    asyncio.run(shares.connection_closed(8))  # someone else's connection
    assert part.counts()[ACQUIRED] == 10
    asyncio.run(shares.connection_closed(7))
    assert shares.sessions.get(GROUP, "a") is None
    assert part.counts()[AVAILABLE] == 10
    # Same instant: b gets them, as their second delivery.
    assert part.acquire("b", 0, 10, now, LOCK, 500) == [(0, 9, 2)]
    logs.close()


def test_a_session_reopened_elsewhere_survives_the_old_connection(tmp_path: Path) -> None:
    clock = ManualClock()
    logs, shares = _coordinator(tmp_path, clock)
    shares.heartbeat(GROUP, "a", 0, ["t"], "c", "/h", None)
    shares.sessions.open(GROUP, "a", connection=7)
    shares.sessions.open(GROUP, "a", connection=9)  # the client reconnected: epoch 0 again
    asyncio.run(shares.connection_closed(7))
    session = shares.sessions.get(GROUP, "a")
    assert session is not None
    assert session.connection == 9
    logs.close()


def test_the_release_is_on_disk(tmp_path: Path) -> None:
    """At the delivery limit the released records are archived, and that is written."""
    clock = ManualClock()
    logs, shares = _coordinator(tmp_path, clock)
    pid = _pid(logs)
    asyncio.run(shares.alter_configs(GROUP, {"share.delivery.count.limit": "2"}, []))
    shares.heartbeat(GROUP, "a", 0, ["t"], "c", "/h", None)
    part = shares.partition(GROUP, pid, logs.log("t", 0))
    part.acquire("a", 0, 5, clock.monotonic_ms(), LOCK, 500)
    part.acknowledge("a", [(0, 4, [RELEASE])], 2)
    assert part.acquire("a", 0, 5, clock.monotonic_ms(), LOCK, 500) == [(0, 4, 2)]
    shares.sessions.open(GROUP, "a", connection=3).partitions.add(pid)
    asyncio.run(shares.connection_closed(3))
    assert part.spso == 5
    logs.close()

    logs, again = _coordinator(tmp_path, clock)
    assert again.groups[GROUP].partitions[pid].spso == 5
    logs.close()
