"""Shared builders for coordinator tests over a real LogManager: a JoinGroup request with
a consumer-protocol subscription, and a loaded coordinator on a data directory."""

from __future__ import annotations

from pathlib import Path

from logstore.clock import ManualClock
from logstore.groups.coordinator import GroupCoordinator
from logstore.groups.settings import GroupSettings
from logstore.groups.state import JoinRequest
from logstore.storage import LogManager

# A consumer-protocol subscription (version 1) to topic "t".
SUBSCRIPTION = b"\x00\x01\x00\x00\x00\x01\x00\x01t\xff\xff\xff\xff"


def join_request(
    member_id: str = "", instance: str | None = None, protocols: tuple[str, ...] = ("range",)
) -> JoinRequest:
    return JoinRequest(
        member_id=member_id,
        group_instance_id=instance,
        client_id="c",
        client_host="/127.0.0.1",
        session_timeout_ms=10_000,
        rebalance_timeout_ms=5_000,
        protocol_type="consumer",
        protocols=[(name, SUBSCRIPTION) for name in protocols],
    )


def open_coordinator(
    path: Path, clock: ManualClock, settings: GroupSettings
) -> tuple[LogManager, GroupCoordinator]:
    """A coordinator that replayed `path`'s `__consumer_offsets` (close the LogManager)."""
    logs = LogManager(path, fsync="always").open()
    coord = GroupCoordinator(logs, clock, settings)
    coord.load()
    return logs, coord
