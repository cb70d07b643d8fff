"""The classic group state machine, driven by plain calls and explicit times."""

from __future__ import annotations

import pytest

from logstore.groups import errors as err
from logstore.groups.state import (
    TRANSITIONS,
    ClassicGroup,
    GroupState,
    IllegalTransition,
    JoinReply,
    JoinRequest,
    SyncReply,
)


def req(member_id: str = "", *, instance: str | None = None, protocols=None, session=10_000):
    return JoinRequest(
        member_id=member_id,
        group_instance_id=instance,
        client_id="c",
        client_host="/127.0.0.1",
        session_timeout_ms=session,
        rebalance_timeout_ms=30_000,
        protocol_type="consumer",
        protocols=protocols or [("range", b"r"), ("roundrobin", b"rr")],
    )


def join_new(group: ClassicGroup, now: int = 0, **kw) -> str:
    """MEMBER_ID_REQUIRED handshake; returns the member id (the second join is pending)."""
    (first,) = group.join(req(**kw), now)
    assert isinstance(first, JoinReply)
    assert first.error == err.MEMBER_ID_REQUIRED
    return first.member_id


def stable_group_of(n: int) -> tuple[ClassicGroup, list[str]]:
    group = ClassicGroup("g")
    ids = [join_new(group) for _ in range(n)]
    replies = []
    for mid in ids:
        replies += group.join(req(mid), 0)
    assert {r.member_id for r in replies} == set(ids)
    assert group.state is GroupState.COMPLETING_REBALANCE
    leader = group.leader_id
    assert leader is not None
    out = group.sync(leader, group.generation_id, {m: m.encode() for m in ids}, 0)
    assert group.state is GroupState.STABLE
    assert {r.member_id for r in out} == {leader}
    return group, ids


def test_transition_table_rejects_illegal_moves() -> None:
    group = ClassicGroup("g")
    assert GroupState.STABLE not in TRANSITIONS[GroupState.EMPTY]
    with pytest.raises(IllegalTransition):
        group._transition(GroupState.STABLE, 0)


def test_first_join_requires_member_id_then_completes_generation_one() -> None:
    group = ClassicGroup("g")
    mid = join_new(group)
    assert group.state is GroupState.EMPTY
    (reply,) = group.join(req(mid), 0)
    assert isinstance(reply, JoinReply)
    assert reply.error == err.NONE
    assert reply.generation_id == 1
    assert reply.leader == mid
    assert reply.protocol_name == "range"
    assert [m[0] for m in reply.members] == [mid]
    assert reply.members[0][2] == b"r"


def test_unknown_member_and_illegal_generation() -> None:
    group, ids = stable_group_of(1)
    assert group.heartbeat("nobody", 1, 0) == err.UNKNOWN_MEMBER_ID
    assert group.heartbeat(ids[0], 7, 0) == err.ILLEGAL_GENERATION
    assert group.heartbeat(ids[0], 1, 0) == err.NONE
    (sync,) = group.sync(ids[0], 9, {}, 0)
    assert isinstance(sync, SyncReply)
    assert sync.error == err.ILLEGAL_GENERATION


def test_followers_wait_for_leader_assignment() -> None:
    group = ClassicGroup("g")
    a, b = join_new(group), join_new(group)
    assert group.join(req(a), 0) == []  # b is still pending: a waits
    replies = group.join(req(b), 0)
    assert {r.member_id for r in replies} == {a, b}
    follower = b if group.leader_id == a else a
    assert group.sync(follower, 1, {}, 0) == []
    out = group.sync(group.leader_id or "", 1, {a: b"A", b: b"B"}, 0)
    got = {r.member_id: r.assignment for r in out if isinstance(r, SyncReply)}
    assert got == {a: b"A", b: b"B"}


def test_new_member_triggers_rebalance_and_heartbeats_say_so() -> None:
    group, ids = stable_group_of(2)
    newcomer = join_new(group)
    assert group.join(req(newcomer), 0) == []
    assert group.state is GroupState.PREPARING_REBALANCE
    assert group.heartbeat(ids[0], 1, 0) == err.REBALANCE_IN_PROGRESS
    assert group.join(req(ids[0]), 0) == []
    replies = group.join(req(ids[1]), 0)
    assert {r.member_id for r in replies} == {*ids, newcomer}
    assert all(isinstance(r, JoinReply) and r.generation_id == 2 for r in replies)


def test_leave_rebalances_remaining_members() -> None:
    group, ids = stable_group_of(3)
    errors, replies = group.leave([(ids[0], None)], 5)
    assert errors == [err.NONE]
    assert replies == []
    assert group.state is GroupState.PREPARING_REBALANCE
    group.join(req(ids[1]), 6)
    replies = group.join(req(ids[2]), 6)
    assert {r.member_id for r in replies} == {ids[1], ids[2]}
    assert group.generation_id == 2
    assert group.leave([("ghost", None)], 7)[0] == [err.UNKNOWN_MEMBER_ID]


def test_last_member_leaving_empties_group() -> None:
    group, ids = stable_group_of(1)
    group.leave([(ids[0], None)], 0)
    assert group.state is GroupState.EMPTY
    assert group.is_empty


def test_session_timeout_expires_silent_member() -> None:
    group, ids = stable_group_of(2)
    group.heartbeat(ids[0], 1, 9_000)
    assert group.tick(9_999) == []
    group.tick(10_000)  # ids[1] last heard at 0, session 10 s
    assert ids[1] not in group.members
    assert group.state is GroupState.PREPARING_REBALANCE
    replies = group.join(req(ids[0]), 10_001)
    assert [r.member_id for r in replies] == [ids[0]]
    assert group.generation_id == 2


def test_rebalance_timeout_drops_members_that_do_not_rejoin() -> None:
    group, ids = stable_group_of(2)
    group.join(req(ids[0], protocols=[("range", b"changed")]), 100)
    assert group.state is GroupState.PREPARING_REBALANCE
    # ids[1] keeps heartbeating (told to rejoin) but never does.
    for t in (9_000, 18_000, 27_000):
        assert group.heartbeat(ids[1], 1, t) == err.REBALANCE_IN_PROGRESS
        assert group.tick(t) == []
    assert group.tick(100 + 29_999) == []
    replies = group.tick(100 + 30_000)
    assert [r.member_id for r in replies] == [ids[0]]
    assert list(group.members) == [ids[0]]


def test_pending_member_forgotten_after_session_timeout() -> None:
    group = ClassicGroup("g")
    mid = join_new(group, session=1000)
    group.tick(1000)
    (reply,) = group.join(req(mid), 1001)
    assert reply.error == err.UNKNOWN_MEMBER_ID


def test_protocol_selection_needs_common_protocol() -> None:
    group, _ = stable_group_of(1)
    mid = join_new(group)
    (reply,) = group.join(req(mid, protocols=[("sticky", b"")]), 0)
    assert reply.error == err.INCONSISTENT_GROUP_PROTOCOL


def test_protocol_selection_by_votes() -> None:
    group = ClassicGroup("g")
    a, b, c = (join_new(group) for _ in range(3))
    group.join(req(a, protocols=[("rr", b""), ("range", b"")]), 0)
    group.join(req(b, protocols=[("range", b""), ("rr", b"")]), 0)
    replies = group.join(req(c, protocols=[("rr", b""), ("range", b"")]), 0)
    assert {r.protocol_name for r in replies if isinstance(r, JoinReply)} == {"rr"}


def test_sync_during_rebalance_is_refused() -> None:
    group, ids = stable_group_of(2)
    group.leave([(ids[1], None)], 0)
    group.join(req(ids[0]), 0)  # completes generation 2 at once (sole member)
    assert group.state is GroupState.COMPLETING_REBALANCE
    newcomer = join_new(group)
    replies = group.join(req(newcomer), 0)
    assert replies == []
    (sync,) = group.sync(ids[0], 2, {}, 0)
    assert sync.error == err.REBALANCE_IN_PROGRESS


def test_static_member_restart_keeps_assignment_without_rebalance() -> None:
    group = ClassicGroup("g")
    (first,) = group.join(req(instance="i-1"), 0)
    assert first.error == err.NONE
    assert first.generation_id == 1
    group.sync(first.member_id, 1, {first.member_id: b"A"}, 0)
    assert group.state is GroupState.STABLE
    (again,) = group.join(req(instance="i-1"), 50)  # restarted: no member id yet
    assert isinstance(again, JoinReply)
    assert again.error == err.NONE
    assert again.member_id != first.member_id
    assert again.generation_id == 1
    assert group.state is GroupState.STABLE
    assert group.heartbeat(first.member_id, 1, 60, "i-1") == err.FENCED_INSTANCE_ID
    (sync,) = group.sync(again.member_id, 1, {}, 60, "i-1")
    assert isinstance(sync, SyncReply)
    assert sync.assignment == b"A"


def test_static_member_with_wrong_member_id_is_fenced() -> None:
    group = ClassicGroup("g")
    (first,) = group.join(req(instance="i-1"), 0)
    (reply,) = group.join(req("someone-else", instance="i-1"), 0)
    assert reply.error == err.FENCED_INSTANCE_ID
    errors, _ = group.leave([("", "i-1")], 0)
    assert errors == [err.NONE]
    assert first.member_id not in group.members


def test_initial_rebalance_delay_gathers_joiners() -> None:
    group = ClassicGroup("g", initial_rebalance_delay_ms=3000)
    a = join_new(group)
    assert group.join(req(a), 0) == []
    b = join_new(group, now=100)
    assert group.join(req(b), 100) == []
    assert group.next_deadline_ms() == 3000
    # A newcomer arrived within the delay: Kafka waits another delay for more.
    assert group.tick(3000) == []
    assert group.next_deadline_ms() == 6000
    replies = group.tick(6000)
    assert {r.member_id for r in replies} == {a, b}
    assert group.generation_id == 1


def test_initial_rebalance_delay_ends_when_nobody_new_arrives() -> None:
    group = ClassicGroup("g", initial_rebalance_delay_ms=3000)
    a = join_new(group)
    assert group.join(req(a), 0) == []
    assert group.tick(2999) == []
    (reply,) = group.tick(3000)
    assert reply.member_id == a
    assert reply.generation_id == 1


def test_initial_rebalance_delay_extensions_stop_at_the_rebalance_timeout() -> None:
    group = ClassicGroup("g", initial_rebalance_delay_ms=20_000)  # rebalance timeout: 30 s
    a = join_new(group)
    group.join(req(a), 0)
    b = join_new(group, now=10)
    group.join(req(b), 10)
    assert group.tick(20_000) == []
    assert group.next_deadline_ms() == 30_000  # 10 s left of the 30 s budget, not 20 s
    assert len(group.tick(30_000)) == 2


def test_group_max_size_refuses_newcomers_only() -> None:
    group = ClassicGroup("g", max_size=1)
    a = join_new(group)
    (full,) = group.join(req(), 0)
    assert full.error == err.GROUP_MAX_SIZE_REACHED
    (static,) = group.join(req(instance="i-1"), 0)
    assert static.error == err.GROUP_MAX_SIZE_REACHED
    (joined,) = group.join(req(a), 0)
    assert joined.error == err.NONE
    assert joined.generation_id == 1


def test_dead_group_refuses() -> None:
    group = ClassicGroup("g")
    group.mark_dead(0)
    (reply,) = group.join(req(), 0)
    assert reply.error == err.COORDINATOR_NOT_AVAILABLE


@pytest.mark.parametrize("v9", [True, False], ids=["joingroup-v9", "joingroup-v5"])
def test_returning_static_leader_does_not_redo_the_assignment(v9: bool) -> None:
    group = ClassicGroup("g")
    (first,) = group.join(req(instance="i-1"), 0)
    old = first.member_id
    group.sync(old, 1, {old: b"a"}, 0)
    restarted = req(instance="i-1")
    restarted.supports_skip_assignment = v9
    (reply,) = group.join(restarted, 10)
    assert isinstance(reply, JoinReply)
    assert (reply.error, reply.generation_id) == (err.NONE, 1)
    assert group.state is GroupState.STABLE
    assert group.leader_id == reply.member_id != old
    if v9:
        assert reply.skip_assignment
        assert reply.leader == reply.member_id
        assert [m[0] for m in reply.members] == [reply.member_id]
    else:
        # Older clients would assign again if named leader: Kafka names the old id.
        assert not reply.skip_assignment
        assert reply.leader == old
        assert reply.members == ()
    (sync,) = group.sync(reply.member_id, 1, {}, 20)
    assert isinstance(sync, SyncReply)
    assert sync.assignment == b"a"
