"""Team quota arithmetic (`console.quota`) without a broker or a database: what a topic may
grow to, each config a member may or may not set, resets, partitions and the byte budget."""

from __future__ import annotations

import pytest

from console.quota import (
    MAX_MESSAGE_BYTES,
    Limits,
    Shape,
    config_problems,
    partitions_problems,
    topic_problems,
)

DAY = 86_400_000
MB = 1_000_000
TEAM = Limits("pay", "pay.", max_partitions=6, max_retention_ms=7 * DAY, max_total_bytes=100 * MB)
FREE = Limits("ops", "ops.", max_partitions=6)  # no retention limit, no budget
TOPIC = Shape("pay.orders", 2, 3 * DAY, 10 * MB, "delete")  # may grow to 20 MB


def test_growth_is_partitions_times_cap_and_unbounded_without_one() -> None:
    assert TOPIC.growth == 20 * MB
    assert Shape("x", 3, -1, -1).growth is None
    assert Shape("x", 3, -1, None).growth is None
    assert Shape("x", 3, -1, 5, "compact").growth is None  # compaction ignores the cap
    assert Shape("x", 3, -1, 5, "compact,delete").growth == 15


def test_budget_counts_what_others_may_grow_to_not_what_they_hold() -> None:
    small_now_big_later = Shape("pay.audit", 10, DAY, 7 * MB)  # may grow to 70 MB
    fits = Shape("pay.new", 3, DAY, 10 * MB)  # 30 MB: 100 in all
    assert topic_problems(TEAM, fits, [small_now_big_later]) == []
    over = Shape("pay.new", 3, DAY, 11 * MB)
    assert topic_problems(TEAM, over, [small_now_big_later]) == [
        "The size cap would take the team over its byte budget."
    ]
    # The topic being changed is not counted twice.
    assert (
        topic_problems(TEAM, fits, [small_now_big_later, Shape("pay.new", 3, DAY, 10 * MB)]) == []
    )


def test_unbounded_neighbours_and_unknown_neighbours_leave_no_room() -> None:
    forever = Shape("pay.legacy", 1, -1, -1)
    problems = topic_problems(TEAM, Shape("pay.new", 1, DAY, 1), [forever])
    assert problems == [
        "The team's topics pay.legacy have no size cap, so nothing more fits the byte "
        "budget until an admin caps them."
    ]
    unknown = topic_problems(TEAM, Shape("pay.new", 1, DAY, 1), None)
    assert unknown == [
        "The team's other topics cannot be read now, so the byte budget cannot be checked."
    ]
    assert topic_problems(FREE, Shape("ops.a", 1, -1, -1), None) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"retention.ms": "-1"}, "exceeds the team's max retention (7 days)"),
        ({"retention.ms": str(8 * DAY)}, "longer than the team's max retention (7 days)"),
        ({"retention.ms": None}, "exceeds the team's max retention"),  # reset: default unknown
        ({"retention.bytes": "-1"}, "needs a size cap per partition"),
        ({"retention.bytes": None}, "needs a size cap per partition"),
        ({"retention.bytes": str(51 * MB)}, "over its byte budget"),
        ({"cleanup.policy": "compact"}, "compacted-only topic has no size cap"),
        ({"cleanup.policy": "nonsense"}, "cleanup.policy is one of"),
        ({"max.message.bytes": str(MAX_MESSAGE_BYTES + 1)}, "max.message.bytes for team topics"),
        ({"max.message.bytes": "0"}, "max.message.bytes for team topics is 1 to"),
        ({"segment.ms": "1"}, "segment.ms for team topics is at least 3,600,000"),
        ({"segment.bytes": "14"}, "segment.bytes for team topics is at least"),
        ({"segment.ms": "soon"}, "segment.ms takes a whole number"),
        ({"min.insync.replicas": "1"}, "Only an admin changes min.insync.replicas."),
        ({"unclean.leader.election.enable": "true"}, "Only an admin changes"),
        ({"compression.type": "brotli"}, "compression.type is one of"),
    ],
)
def test_member_config_changes_outside_policy(
    changes: dict[str, str | None], expected: str
) -> None:
    problems = config_problems(TEAM, TOPIC, changes, [TOPIC])
    assert len(problems) == 1, problems
    assert expected in problems[0]


@pytest.mark.parametrize(
    "changes",
    [
        {"retention.ms": str(7 * DAY)},
        {"retention.ms": "0"},
        {"retention.bytes": str(50 * MB)},  # 100 MB: exactly the budget
        {"cleanup.policy": "compact,delete"},
        {"max.message.bytes": str(MAX_MESSAGE_BYTES)},
        {"segment.ms": str(DAY)},
        {"segment.ms": None},
        {"compression.type": "zstd"},
        {"message.timestamp.type": "LogAppendTime"},
    ],
)
def test_member_config_changes_inside_policy(changes: dict[str, str | None]) -> None:
    assert config_problems(TEAM, TOPIC, changes, [TOPIC]) == []


def test_lowering_a_cap_is_allowed_even_over_budget() -> None:
    over = Shape("pay.big", 4, DAY, 40 * MB)  # 160 MB, set by an admin
    assert config_problems(TEAM, over, {"retention.bytes": str(30 * MB)}, [over]) == []
    assert config_problems(TEAM, over, {"retention.bytes": str(41 * MB)}, [over]) == [
        "The size cap would take the team over its byte budget."
    ]


def test_unrelated_changes_do_not_judge_an_admin_made_shape() -> None:
    legacy = Shape("pay.legacy", 12, -1, -1)
    assert config_problems(TEAM, legacy, {"compression.type": "lz4"}, [legacy]) == []


def test_adding_partitions_counts_partitions_and_growth() -> None:
    assert partitions_problems(TEAM, TOPIC, 5, [TOPIC]) == []  # 50 MB
    assert partitions_problems(TEAM, TOPIC, 11, [TOPIC]) == [
        "11 partitions is more than the team's 6 per topic.",
        "The size cap would take the team over its byte budget.",
    ]
    uncapped = Shape("pay.raw", 1, DAY, -1)
    assert partitions_problems(TEAM, uncapped, 2, [uncapped]) == [
        "The team has a byte budget, so the topic needs a size cap per partition."
    ]
    assert partitions_problems(FREE, Shape("ops.raw", 1, -1, -1), 6, None) == []
