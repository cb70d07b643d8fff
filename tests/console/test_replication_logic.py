"""The judgement of replication health, reassignment plans and the MirrorMaker 2
configuration: pure logic, checked on hand-made cluster states."""

from __future__ import annotations

import re

import pytest

from console import reassignment, replication
from console.kafka.model import PartitionInfo, TopicInfo
from console.mirror_config import MirrorPlan, properties


def _p(n: int, leader: int, replicas: tuple[int, ...], isr: tuple[int, ...]) -> PartitionInfo:
    return PartitionInfo(partition=n, leader=leader, replicas=replicas, isr=isr)


def test_each_state_and_its_sentence() -> None:
    judge = replication.judge
    assert judge("t", _p(0, 1, (1, 2, 3), (1, 2, 3)), 2).state == "healthy"
    behind = judge("t", _p(0, 1, (1, 2, 3), (1, 2)), 2)
    assert behind.state == "under-replicated"
    assert behind.behind == (3,)
    assert behind.explanation == (
        "1 copy of 3 is behind: writes with acks=all still succeed while 2 are in sync "
        "(min.insync.replicas=2)."
    )
    refused = judge("t", _p(0, 1, (1, 2, 3), (1,)), 2)
    assert refused.state == "under-min-isr"
    assert "NOT_ENOUGH_REPLICAS" in refused.explanation
    assert judge("t", _p(0, -1, (1, 2, 3), ()), 2).state == "offline"
    single = judge("t", _p(0, 1, (1,), (1,)), 1)
    assert single.state == "healthy"
    assert "single copy" in single.explanation


def test_cluster_counts_skew_and_missing_brokers() -> None:
    topics = {
        "a": TopicInfo(
            "a",
            [_p(0, 1, (1, 2, 3), (1, 2)), _p(1, 1, (2, 1, 3), (1, 2)), _p(2, -1, (3,), ())],
            configs={"min.insync.replicas": "2"},
        ),
        "b": TopicInfo("b", [_p(0, 2, (2, 1, 3), (2,))], configs={"min.insync.replicas": "2"}),
    }
    health = replication.assess({1: "h:1", 2: "h:2"}, topics)
    assert (health.offline, health.under_min_isr, health.under_replicated) == (1, 1, 2)
    assert [(p.topic, p.partition) for p in health.problems] == [
        ("a", 2),
        ("b", 0),
        ("a", 0),
        ("a", 1),
    ]
    assert health.leaders == {1: 2, 2: 1}
    assert health.not_preferred == 1
    assert health.missing_brokers == [3]
    assert health.skew_percent == 33
    assert health.summary.startswith("1 partition offline")
    assert not health.healthy


def test_topic_summary_explains_min_insync_replicas() -> None:
    topic = TopicInfo("t", [_p(0, 1, (1, 2, 3), (1, 2, 3))])
    assert replication.topic_summary(topic, 2) == (
        "Each partition has 3 copies; min.insync.replicas=2: a write with acks=all is "
        "stored on at least 2 copies before it is acknowledged, and such writes keep "
        "succeeding with up to 1 broker down."
    )
    assert "always refused" in replication.topic_summary(topic, 4)


def test_plan_keeps_copies_in_place_and_spreads_new_ones() -> None:
    current = {0: (1, 2, 3), 1: (2, 3, 1), 2: (3, 1, 2)}
    moves = reassignment.plan(current, [1, 2], 2)
    assert [m.after for m in moves] == [(1, 2), (2, 1), (1, 2)]
    assert all(m.removing == (3,) for m in moves)
    grown = reassignment.plan({0: (1,), 1: (2,), 2: (3,)}, [1, 2, 3], 2)
    assert [m.after[0] for m in grown] == [1, 2, 3]  # leaders stay where they are
    assert all(len(set(m.after)) == 2 for m in grown)
    loads = [b for m in grown for b in m.after]
    assert sorted(loads.count(b) for b in (1, 2, 3)) == [2, 2, 2]
    unchanged = reassignment.plan(current, [1, 2, 3], 3)
    assert not any(m.changes for m in unchanged)


def test_plan_refuses_what_cannot_be_placed() -> None:
    with pytest.raises(reassignment.PlanError, match="3 copies need 3 brokers; 2 are chosen"):
        reassignment.plan({0: (1,)}, [1, 2], 3)
    with pytest.raises(reassignment.PlanError, match="at least 1"):
        reassignment.plan({0: (1,)}, [1], 0)


def test_mirror_maker_properties_name_exactly_the_chosen_topics_and_groups() -> None:
    text = properties(MirrorPlan("a:9092", "b:1,b:2", ["orders.v2", "pay"], ["billing"], 3))
    settings = dict(
        line.split(" = ", 1) for line in text.splitlines() if line and not line.startswith("#")
    )
    assert settings["source.bootstrap.servers"] == "a:9092"
    assert settings["target.bootstrap.servers"] == "b:1,b:2"
    pattern = re.compile(settings["source->target.topics"])
    assert pattern.fullmatch("orders.v2")
    assert pattern.fullmatch("pay")
    assert not pattern.fullmatch("ordersXv2")
    assert settings["source->target.groups"] == "billing"
    assert settings["replication.policy.class"].endswith("IdentityReplicationPolicy")
    assert settings["sync.group.offsets.enabled"] == "true"
    assert settings["target->source.enabled"] == "false"
    assert settings["offset-syncs.topic.location"] == "target"
    assert settings["replication.factor"] == "3"
