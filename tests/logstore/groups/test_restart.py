"""Classic group metadata across a coordinator restart: what Kafka reloads from
`__consumer_offsets` (generation, leader, members, assignments) comes back here too."""

from __future__ import annotations

import asyncio

import pytest

from logstore.clock import ManualClock
from logstore.groups import errors as err
from logstore.groups import metadata
from logstore.groups.consumer import HeartbeatRequest
from logstore.groups.coordinator import GroupCoordinator
from logstore.groups.settings import GroupSettings
from logstore.groups.state import GroupState, JoinRequest
from logstore.storage import LogManager
from tests.logstore.groups.helpers import join_request
from tests.logstore.groups.helpers import open_coordinator as open_with

FAST = GroupSettings(initial_rebalance_delay_ms=0)


def static_req(instance: str, member_id: str = "") -> JoinRequest:
    return join_request(member_id, instance, ("range", "roundrobin"))


def open_coordinator(path, clock: ManualClock) -> tuple[LogManager, GroupCoordinator]:
    return open_with(path, clock, FAST)


async def stable_static_pair(coord: GroupCoordinator) -> tuple[str, str]:
    first = await coord.join("g", static_req("i-1"))
    assert first.generation_id == 1
    # A second static member joins: one rebalance, both in generation 2.
    second = asyncio.create_task(coord.join("g", static_req("i-2")))
    await asyncio.sleep(0)
    again = await coord.join("g", static_req("i-1", first.member_id))
    b = await second
    assert again.generation_id == b.generation_id == 2
    follower = asyncio.create_task(coord.sync("g", b.member_id, 2, {}))
    await coord.sync("g", first.member_id, 2, {first.member_id: b"A", b.member_id: b"B"})
    assert (await follower).assignment == b"B"
    return first.member_id, b.member_id


@pytest.mark.parametrize("clean", [True, False], ids=["stop", "crash"])
async def test_static_members_keep_generation_and_assignment_across_restart(
    tmp_path, clean: bool
) -> None:
    clock = ManualClock()
    logs, coord = open_coordinator(tmp_path, clock)
    a, b = await stable_static_pair(coord)
    if clean:
        await coord.stop()
    logs.close()  # a crash: only what the SyncGroup made durable survives

    clock.advance(3_000)
    logs, again = open_coordinator(tmp_path, clock)
    group = again.classic["g"]
    assert group.state is GroupState.STABLE
    assert (group.generation_id, group.leader_id) == (2, a)
    assert group.static_members == {"i-1": a, "i-2": b}
    assert again.heartbeat("g", a, 2, "i-1") == err.NONE
    assert (await again.sync("g", b, 2, {}, "i-2")).assignment == b"B"
    assert again.validate_commit("g", b, 2, "i-2") == err.NONE
    # The i-2 process restarted too: it takes its old place without a rebalance.
    rejoined = await again.join("g", static_req("i-2"))
    assert (rejoined.error, rejoined.generation_id) == (err.NONE, 2)
    assert group.state is GroupState.STABLE
    assert again.heartbeat("g", b, 2, "i-2") == err.FENCED_INSTANCE_ID
    # Members that never come back expire after their session, as on Kafka.
    clock.advance(10_000)
    again.tick()
    assert not group.members
    assert group.state is GroupState.EMPTY
    await again.persist_groups()
    logs.close()
    logs, third = open_coordinator(tmp_path, clock)
    assert third.classic["g"].state is GroupState.EMPTY
    assert third.classic["g"].generation_id == 3
    logs.close()


async def test_deleted_group_leaves_a_tombstone(tmp_path) -> None:
    clock = ManualClock()
    logs, coord = open_coordinator(tmp_path, clock)
    a = (await coord.join("g", static_req("i-1"))).member_id
    await coord.sync("g", a, 1, {a: b"A"})
    coord.leave("g", [("", "i-1")])
    await coord.persist_groups()
    assert await coord.delete_group("g") == err.NONE
    logs.close()
    logs, again = open_coordinator(tmp_path, clock)
    assert "g" not in again.classic
    assert again.list_groups() == []
    logs.close()


def test_metadata_record_round_trips_and_reads_older_versions() -> None:
    record = metadata.GroupRecord(
        "consumer",
        7,
        "range",
        "m-1",
        1_700_000_000_000,
        (metadata.MemberRecord("m-1", "i-1", "c", "/h", 300, 45_000, b"sub", b"asg"),),
    )
    assert metadata.decode_key(metadata.encode_key("g/x")) == "g/x"
    assert metadata.decode_value(metadata.encode_value(record)) == record
    assert metadata.decode_key(b"\x00\x01\x00\x01g\x00\x01t\x00\x00\x00\x00") is None
    assert metadata.decode_key(b"\x00") is None
    # Version 0: no rebalance timeout, state timestamp or instance id.
    v0 = (
        b"\x00\x00" + b"\x00\x08consumer" + b"\x00\x00\x00\x07" + b"\x00\x05range"
        b"\x00\x03m-1" + b"\x00\x00\x00\x01" + b"\x00\x03m-1" + b"\x00\x01c" + b"\x00\x02/h"
        b"\x00\x00\x27\x10" + b"\x00\x00\x00\x01s" + b"\x00\x00\x00\x01a"
    )
    old = metadata.decode_value(v0)
    assert old.members[0].rebalance_timeout_ms == old.members[0].session_timeout_ms == 10_000
    assert (old.state_timestamp_ms, old.members[0].group_instance_id) == (-1, None)
    with pytest.raises(ValueError):
        metadata.decode_value(v0[:-3])


async def test_consumer_group_members_keep_their_epoch_across_restart(tmp_path) -> None:
    clock = ManualClock()
    logs, coord = open_coordinator(tmp_path, clock)
    logs.create_topic("t", 4)
    topic_id = logs.topic("t").topic_id
    first = coord.consumer_heartbeat(
        "cg", HeartbeatRequest(member_id="m-1", member_epoch=0, subscribed_regex="t.*")
    )
    assert first.assignment == {topic_id: {0, 1, 2, 3}}
    confirmed = coord.consumer_heartbeat(
        "cg",
        HeartbeatRequest(
            member_id="m-1", member_epoch=first.member_epoch, owned={topic_id: {0, 1, 2, 3}}
        ),
    )
    assert confirmed.error == err.NONE
    await coord.persist_groups()
    logs.close()

    clock.advance(5_000)
    logs, again = open_coordinator(tmp_path, clock)
    cgroup = again.consumer["cg"]
    assert cgroup.state == "Stable"
    member = cgroup.members["m-1"]
    assert (member.epoch, member.regex) == (first.member_epoch, "t.*")
    beat = again.consumer_heartbeat(
        "cg", HeartbeatRequest(member_id="m-1", member_epoch=first.member_epoch)
    )
    assert beat.error == err.NONE
    assert beat.member_epoch == first.member_epoch
    assert beat.assignment is None  # nothing changed: no new assignment to take
    # Leaving is durable too: the next restart has an empty group.
    again.consumer_heartbeat("cg", HeartbeatRequest(member_id="m-1", member_epoch=-1))
    await again.persist_groups()
    logs.close()
    logs, third = open_coordinator(tmp_path, clock)
    assert third.consumer["cg"].members == {}
    assert await third.delete_group("cg") == err.NONE
    logs.close()
    logs, fourth = open_coordinator(tmp_path, clock)
    assert "cg" not in fourth.consumer
    logs.close()


async def test_a_static_takeover_is_durable_before_the_reply(tmp_path) -> None:
    clock = ManualClock()
    logs, coord = open_coordinator(tmp_path, clock)
    a, b = await stable_static_pair(coord)
    replacement = await coord.join("g", static_req("i-2"))
    logs.close()  # no stop(), no tick: only what was written before the reply
    logs, again = open_coordinator(tmp_path, clock)
    assert again.classic["g"].static_members == {"i-1": a, "i-2": replacement.member_id}
    assert replacement.member_id != b
    logs.close()


async def test_an_unchanged_group_is_not_written_again(tmp_path) -> None:
    clock = ManualClock()
    logs, coord = open_coordinator(tmp_path, clock)
    _, b = await stable_static_pair(coord)
    plog = logs.log("__consumer_offsets", 0)
    end = plog.log_end_offset
    assert coord.heartbeat("g", b, 2, "i-2") == 0
    assert (await coord.sync("g", b, 2, {}, "i-2")).assignment == b"B"
    await coord.persist_groups()
    assert plog.log_end_offset == end
    coord.leave("g", [("", "i-2")])
    await coord.persist_groups()
    assert plog.log_end_offset == end  # rebalancing: written once it settles
    coord.leave("g", [("", "i-1")])
    await coord.persist_groups()
    assert plog.log_end_offset == end + 1  # settled as Empty
    logs.close()
