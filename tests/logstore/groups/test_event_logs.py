"""Group events an operator looks for are logged once with their reason: rebalances (who
joined or left), static members fenced by a restart. (A transactional producer fenced by
InitProducerId: `tests/logstore/transactions/test_coordinator.py`.)"""

from __future__ import annotations

import logging

import pytest

from logstore.groups.state import ClassicGroup

from .test_state import req, stable_group_of


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records]


def test_rebalances_are_logged_with_their_reason(caplog: pytest.LogCaptureFixture) -> None:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="logstore.groups"):
        group, ids = stable_group_of(2)
        rebalances = [m for m in _messages(caplog) if "rebalancing" in m]
        # One rebalance for the first joiner; the second joined the one in progress.
        assert rebalances == [f"group g rebalancing after generation 0: member {ids[0]} joined"]
        caplog.clear()
        group.leave([(ids[1], None)], 10)
        assert [m for m in _messages(caplog) if "rebalancing" in m] == [
            "group g rebalancing after generation 1: a member left or its session expired"
        ]


def test_a_restarted_static_member_fences_the_old_id(caplog: pytest.LogCaptureFixture) -> None:
    group = ClassicGroup("g")
    (first,) = group.join(req(instance="i-1"), 0)
    group.sync(first.member_id, 1, {first.member_id: b"A"}, 0)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="logstore.groups"):
        (again,) = group.join(req(instance="i-1"), 50)
    assert _messages(caplog) == [
        f"group g: static member i-1 fenced member id {first.member_id} (now {again.member_id})"
    ]
