"""The coordinator over a real LogManager: parked joins, timeouts, durable offsets."""

from __future__ import annotations

import asyncio

import pytest

from logstore.clock import ManualClock
from logstore.groups import errors as err
from logstore.groups.coordinator import GroupCoordinator
from logstore.groups.offsets import CommittedOffset
from logstore.groups.settings import GroupSettings
from logstore.groups.state import JoinRequest
from logstore.storage import LogManager

# Joins answer at once (Kafka's 3 s initial delay is tested on its own).
FAST = GroupSettings(initial_rebalance_delay_ms=0)
GROUP_CLEANUP_INTERVAL_MS = FAST.offsets_retention_check_interval_ms


@pytest.fixture
def logs(tmp_path):
    manager = LogManager(tmp_path, fsync="never").open()
    yield manager
    manager.close()


def join_req(member_id: str = "", session: int = 10_000) -> JoinRequest:
    return JoinRequest(
        member_id=member_id,
        group_instance_id=None,
        client_id="c",
        client_host="/127.0.0.1",
        session_timeout_ms=session,
        rebalance_timeout_ms=5_000,
        protocol_type="consumer",
        protocols=[("range", b"\x00\x01\x00\x00\x00\x01\x00\x01t\xff\xff\xff\xff")],
    )


async def joined(coord: GroupCoordinator, group: str) -> str:
    first = await coord.join(group, join_req())
    assert first.error == err.MEMBER_ID_REQUIRED
    return first.member_id


async def test_second_joiner_parks_until_everyone_rejoins(logs) -> None:
    clock = ManualClock()
    coord = GroupCoordinator(logs, clock, FAST)
    coord.load()
    a = await joined(coord, "g")
    first = await coord.join("g", join_req(a))
    assert first.generation_id == 1
    sync = await coord.sync("g", a, 1, {a: b"all"})
    assert sync.assignment == b"all"
    b = await joined(coord, "g")
    parked_b = asyncio.create_task(coord.join("g", join_req(b)))
    await asyncio.sleep(0)
    assert not parked_b.done()
    assert coord.heartbeat("g", a, 1) == err.REBALANCE_IN_PROGRESS
    again_a = await coord.join("g", join_req(a))
    reply_b = await asyncio.wait_for(parked_b, 5)
    assert again_a.generation_id == reply_b.generation_id == 2
    assert again_a.leader == a
    assert len(again_a.members) == 2
    assert reply_b.members == ()
    parked_sync = asyncio.create_task(coord.sync("g", b, 2, {}))
    await asyncio.sleep(0)
    assert not parked_sync.done()
    await coord.sync("g", a, 2, {a: b"A", b: b"B"})
    assert (await asyncio.wait_for(parked_sync, 5)).assignment == b"B"


async def test_session_timeout_fires_on_tick(logs) -> None:
    clock = ManualClock()
    coord = GroupCoordinator(logs, clock, FAST)
    coord.load()
    a = await joined(coord, "g")
    await coord.join("g", join_req(a, session=6000))
    await coord.sync("g", a, 1, {})
    clock.advance(5999)
    coord.tick()
    assert coord.heartbeat("g", a, 1) == err.NONE
    clock.advance(6000)
    coord.tick()
    assert coord.heartbeat("g", a, 1) == err.UNKNOWN_MEMBER_ID
    # Empty with nothing committed: still listed until Kafka's periodic cleanup finds it.
    assert [(g.group_id, g.state) for g in coord.list_groups()] == [("g", "Empty")]
    clock.advance(GROUP_CLEANUP_INTERVAL_MS - 1)
    coord.tick()
    assert [g.group_id for g in coord.list_groups()] == ["g"]
    clock.advance(1)
    coord.tick()
    assert coord.list_groups() == []


async def test_cleanup_clock_restarts_when_an_empty_group_commits_again(logs) -> None:
    clock = ManualClock()
    coord = GroupCoordinator(logs, clock, FAST)
    coord.load()
    a = await joined(coord, "g")
    assert coord.leave("g", [(a, None)])[0] == err.NONE
    clock.advance(GROUP_CLEANUP_INTERVAL_MS // 2)
    coord.tick()
    await coord.commit("g", [("t", 0, CommittedOffset(5))])
    coord.tick()  # has offsets: not a candidate for cleanup
    await coord.delete_offsets("g", [("t", 0)])
    clock.advance(GROUP_CLEANUP_INTERVAL_MS // 2 + 1)
    coord.tick()  # empty again, but only for an instant: the clock started over
    assert [g.group_id for g in coord.list_groups()] == ["g"]
    clock.advance(GROUP_CLEANUP_INTERVAL_MS)
    coord.tick()
    assert coord.list_groups() == []


async def test_offsets_survive_reload_and_active_group_refuses_admin_commit(tmp_path) -> None:
    logs = LogManager(tmp_path, fsync="always").open()
    coord = GroupCoordinator(logs, ManualClock(), FAST)
    coord.load()
    await coord.commit("g", [("t", 0, CommittedOffset(5, 0, "m", 1)), ("t", 1, CommittedOffset(9))])
    await coord.commit("g", [("t", 1, None)])
    a = await joined(coord, "g")
    await coord.join("g", join_req(a))
    assert coord.validate_commit("g", "", -1, None) == err.UNKNOWN_MEMBER_ID
    assert coord.validate_commit("g", a, 1, None) == err.REBALANCE_IN_PROGRESS
    await coord.sync("g", a, 1, {})
    assert coord.validate_commit("g", a, 1, None) == err.NONE
    assert coord.validate_commit("g", a, 0, None) == err.ILLEGAL_GENERATION
    assert coord.validate_commit("other", "", -1, None) == err.NONE
    assert coord.subscribed_topics("g") == {"t"}
    errors = await coord.delete_offsets("g", [("t", 0)])
    assert errors == {("t", 0): err.GROUP_SUBSCRIBED_TO_TOPIC}
    assert await coord.delete_group("g") == err.NON_EMPTY_GROUP
    logs.close()

    logs = LogManager(tmp_path, fsync="always").open()
    clock = ManualClock()
    again = GroupCoordinator(logs, clock, FAST)
    again.load()
    assert again.committed("g", "t", 0) == CommittedOffset(5, 0, "m", 1)
    assert again.committed("g", "t", 1) is None
    # As on Kafka, the member comes back with the group and gets a session to return in.
    assert [(g.group_id, g.state) for g in again.list_groups()] == [("g", "Stable")]
    clock.advance(10_000)
    again.tick()
    assert [(g.group_id, g.state) for g in again.list_groups()] == [("g", "Empty")]
    assert await again.delete_group("g") == err.NONE
    assert await again.delete_group("g") == err.GROUP_ID_NOT_FOUND
    logs.close()
    logs = LogManager(tmp_path).open()
    third = GroupCoordinator(logs, ManualClock(), FAST)
    third.load()
    assert third.list_groups() == []
    logs.close()


async def test_offsets_of_deleted_topics_are_pruned_durably(tmp_path) -> None:
    logs = LogManager(tmp_path, fsync="never").open()
    logs.create_topic("keep", 1)
    logs.create_topic("drop", 1)
    coord = GroupCoordinator(logs, ManualClock(), FAST)
    coord.load()
    await coord.commit("g", [("keep", 0, CommittedOffset(1)), ("drop", 0, CommittedOffset(2))])
    assert await coord.prune_deleted_topics() == []
    logs.delete_topic("drop")
    assert await coord.prune_deleted_topics() == ["drop"]
    assert coord.committed("g", "drop", 0) is None
    logs.close()
    logs = LogManager(tmp_path, fsync="never").open()
    again = GroupCoordinator(logs, ManualClock(), FAST)
    again.load()
    assert again.committed_all("g") == {("keep", 0): CommittedOffset(1)}
    logs.close()


async def test_empty_groups_without_offsets_are_forgotten(logs) -> None:
    clock = ManualClock()
    coord = GroupCoordinator(logs, clock, FAST)
    coord.load()
    a = await joined(coord, "throwaway")
    await coord.join("throwaway", join_req(a))
    await coord.commit("kept", [("t", 0, CommittedOffset(1))])
    coord.leave("throwaway", [(a, None)])
    coord.tick()
    clock.advance(GROUP_CLEANUP_INTERVAL_MS)
    coord.tick()
    assert [g.group_id for g in coord.list_groups()] == ["kept"]
    assert "throwaway" not in coord.classic


@pytest.mark.parametrize("session", [5_999, 1_800_001])
async def test_session_timeout_outside_the_brokers_bounds_is_refused(logs, session) -> None:
    coord = GroupCoordinator(logs, ManualClock(), FAST)
    coord.load()
    reply = await coord.join("g", join_req(session=session))
    assert reply.error == err.INVALID_SESSION_TIMEOUT
    assert "g" not in coord.classic
