"""KIP-848 consumer groups: epochs, target assignment and revoke-before-assign."""

from __future__ import annotations

import uuid

from logstore.groups import errors as err
from logstore.groups.consumer import ConsumerGroup, HeartbeatRequest, invalid_heartbeat

TOPIC = uuid.UUID(int=42)
TOPICS = {"t": (TOPIC, 6)}


def resolve(name):
    return TOPICS.get(name)


def hb(group, member_id, epoch, now=0, owned=None, subscribed=None):
    return group.heartbeat(
        HeartbeatRequest(
            member_id=member_id,
            member_epoch=epoch,
            subscribed=subscribed if subscribed is not None else (["t"] if epoch == 0 else None),
            owned=owned,
        ),
        resolve,
        now,
    )


def parts(result):
    return result.assignment.get(TOPIC, set())


def test_single_member_gets_everything() -> None:
    group = ConsumerGroup("g")
    r = hb(group, "a", 0)
    assert r.error == err.NONE
    assert r.member_epoch > 0
    assert parts(r) == set(range(6))
    assert group.state == "Stable"
    again = hb(group, "a", r.member_epoch)
    assert again.assignment is None  # unchanged: nothing to send


def test_partition_moves_only_after_revocation() -> None:
    group = ConsumerGroup("g")
    a = hb(group, "a", 0)
    a = hb(group, "a", a.member_epoch, owned={TOPIC: set(range(6))})
    b = hb(group, "b", 0)
    assert parts(b) == set()  # a still owns everything
    assert group.state == "Reconciling"
    a2 = hb(group, "a", a.member_epoch)
    assert len(parts(a2)) == 3  # told to give up half
    b2 = hb(group, "b", b.member_epoch)
    assert b2.assignment is None or parts(b2) == set()  # a has not confirmed yet
    a3 = hb(group, "a", a2.member_epoch, owned={TOPIC: parts(a2)})
    b3 = hb(group, "b", b2.member_epoch)
    assert parts(b3) == set(range(6)) - parts(a2)
    assert a3.member_epoch == b3.member_epoch == group.group_epoch
    assert group.state == "Stable"


def test_leave_frees_partitions_and_unknown_or_stale_members_are_refused() -> None:
    group = ConsumerGroup("g")
    a = hb(group, "a", 0)
    b = hb(group, "b", 0)
    assert hb(group, "b", -1).member_epoch == -1
    a2 = hb(group, "a", a.member_epoch, owned={TOPIC: parts(a)})
    assert parts(a2) == set(range(6))
    assert hb(group, "b", b.member_epoch).error == err.UNKNOWN_MEMBER_ID
    assert hb(group, "a", 999).error == err.FENCED_MEMBER_EPOCH


def test_session_timeout_removes_member() -> None:
    group = ConsumerGroup("g", session_timeout_ms=1000)
    hb(group, "a", 0, now=0)
    b = hb(group, "b", 0, now=500)
    assert group.tick(999) == []
    assert group.tick(1000) == ["a"]
    b2 = hb(group, "b", b.member_epoch, now=1001)
    assert parts(b2) == set(range(6))
    assert group.state == "Stable"


def test_unknown_assignor_and_empty_subscription() -> None:
    refused = invalid_heartbeat(HeartbeatRequest("a", 0, subscribed=["t"], server_assignor="magic"))
    assert refused is not None
    assert refused.error == err.UNSUPPORTED_ASSIGNOR
    assert (
        refused.message
        == "ServerAssignor magic is not supported. Supported assignors: uniform, range."
    )
    assert (
        invalid_heartbeat(HeartbeatRequest("a", 0, subscribed=["t"], server_assignor="range"))
        is None
    )
    group = ConsumerGroup("g")
    assert hb(group, "a", 0, subscribed=[]).error == err.INVALID_REQUEST


def test_member_that_never_revokes_is_fenced_after_rebalance_timeout() -> None:
    group = ConsumerGroup("g", session_timeout_ms=60_000)
    a = group.heartbeat(
        HeartbeatRequest("a", 0, subscribed=["t"], rebalance_timeout_ms=5_000), resolve, 0
    )
    a = hb(group, "a", a.member_epoch, now=10, owned={TOPIC: set(range(6))})
    b = hb(group, "b", 0, now=20)
    a2 = hb(group, "a", a.member_epoch, now=30)  # told to revoke; keeps reporting all six
    assert len(parts(a2)) == 3
    assert group.members["a"].revoke_deadline_ms == 30 + 5_000
    assert group.tick(5_029) == []
    assert group.tick(5_030) == ["a"]
    b2 = hb(group, "b", b.member_epoch, now=5_031)
    assert parts(b2) == set(range(6))


def test_regex_subscription_follows_matching_topics_including_new_ones() -> None:
    topics = {"orders-eu": (uuid.UUID(int=1), 2), "payments": (uuid.UUID(int=2), 2)}

    def beat(member_id, epoch, **fields):
        return group.heartbeat(
            HeartbeatRequest(member_id=member_id, member_epoch=epoch, **fields),
            topics.get,
            0,
            lambda: [*topics, "__consumer_offsets"],
        )

    group = ConsumerGroup("g")
    first = beat("a", 0, subscribed=[], subscribed_regex="orders-.*")
    assert first.error == err.NONE
    assert first.assignment == {uuid.UUID(int=1): {0, 1}}
    topics["orders-us"] = (uuid.UUID(int=3), 1)  # created later, matches
    topics["xorders-eu"] = (uuid.UUID(int=4), 1)  # matches only partially: not taken
    later = beat("a", first.member_epoch)
    assert later.member_epoch > first.member_epoch
    assert later.assignment == {uuid.UUID(int=1): {0, 1}, uuid.UUID(int=3): {0}}
    assert group.subscribed_topics() == {"orders-eu", "orders-us"}
    cleared = beat("a", later.member_epoch, subscribed=["payments"], subscribed_regex="")
    assert group.subscribed_topics() == {"payments"}
    assert cleared.error == err.NONE


def test_invalid_regex_is_refused_with_kafkas_error() -> None:
    result = invalid_heartbeat(
        HeartbeatRequest(member_id="a", member_epoch=0, subscribed=[], subscribed_regex="(a")
    )
    assert result is not None
    assert result.error == err.INVALID_REGULAR_EXPRESSION


def test_group_max_size_refuses_a_new_member() -> None:
    group = ConsumerGroup("g", max_size=1)
    assert hb(group, "a", 0).error == err.NONE
    assert hb(group, "b", 0).error == err.GROUP_MAX_SIZE_REACHED
    assert list(group.members) == ["a"]
