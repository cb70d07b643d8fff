"""`offsets.retention.minutes`: committed offsets expire by Kafka's rules, on the injected
clock: a group that used group management counts from when it became empty, standalone
commits from each commit, and an active group keeps the offsets of topics it consumes."""

from __future__ import annotations

from logstore.clock import ManualClock
from logstore.groups.offsets import CommittedOffset
from logstore.groups.settings import GroupSettings
from logstore.groups.state import JoinRequest
from tests.logstore.groups.helpers import join_request, open_coordinator

SETTINGS = GroupSettings(initial_rebalance_delay_ms=0, offsets_retention_minutes=1)
MINUTE = 60_000


def join_req(member_id: str = "") -> JoinRequest:
    return join_request(member_id)


def commit_at(clock: ManualClock, offset: int) -> CommittedOffset:
    return CommittedOffset(offset, commit_timestamp=clock.now_ms())


async def test_standalone_commits_expire_from_their_commit_time(tmp_path) -> None:
    clock = ManualClock()
    logs, coord = open_coordinator(tmp_path, clock, SETTINGS)
    await coord.commit("solo", [("t", 0, commit_at(clock, 1))])
    clock.advance(MINUTE // 2)
    await coord.commit("solo", [("t", 1, commit_at(clock, 2))])
    clock.advance(MINUTE // 2 - 1)
    assert await coord.expire_offsets() == []
    clock.advance(1)
    assert await coord.expire_offsets() == [("solo", "t", 0)]
    clock.advance(MINUTE // 2)
    assert await coord.expire_offsets() == [("solo", "t", 1)]
    assert coord.list_groups() == []
    logs.close()
    # The expiry was durable: a restart does not bring the offsets back.
    logs, again = open_coordinator(tmp_path, clock, SETTINGS)
    assert again.committed_all("solo") == {}
    logs.close()


async def test_group_offsets_expire_from_when_the_group_became_empty(tmp_path) -> None:
    clock = ManualClock()
    logs, coord = open_coordinator(tmp_path, clock, SETTINGS)
    member = (await coord.join("g", join_req())).member_id
    await coord.join("g", join_req(member))
    await coord.sync("g", member, 1, {})
    await coord.commit("g", [("t", 0, commit_at(clock, 5)), ("gone", 0, commit_at(clock, 6))])
    clock.advance(2 * MINUTE)
    # Still a member: the subscribed topic's offset stays, the other one expires.
    coord.heartbeat("g", member, 1)
    assert await coord.expire_offsets() == [("g", "gone", 0)]
    coord.leave("g", [(member, None)])
    clock.advance(MINUTE - 1)
    assert await coord.expire_offsets() == []  # old commit, but empty for less than 1 min
    clock.advance(1)
    assert await coord.expire_offsets() == [("g", "t", 0)]
    # Empty with nothing committed: the group is gone, as Kafka deletes it in the same pass.
    assert "g" not in coord.classic
    logs.close()


async def test_the_periodic_check_runs_every_check_interval(tmp_path) -> None:
    clock = ManualClock()
    logs, coord = open_coordinator(tmp_path, clock, SETTINGS)
    await coord.commit("solo", [("t", 0, commit_at(clock, 1))])
    clock.advance(2 * MINUTE)
    await coord.run_due_checks()
    assert coord.committed("solo", "t", 0) is not None  # the 10-minute check is not due
    clock.advance(SETTINGS.offsets_retention_check_interval_ms - 2 * MINUTE)
    await coord.run_due_checks()
    assert coord.committed("solo", "t", 0) is None
    logs.close()
