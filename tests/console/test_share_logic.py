"""Share-group logic that needs no cluster: the config form's grammar and changes, and the
backlog arithmetic (records waiting, oldest unacknowledged age, acknowledged total)."""

from __future__ import annotations

import pytest

from console import share_configs as sc
from console.inputs import InputError
from console.kafka.model import GroupDescription, Member, ShareStart
from console.lag.arithmetic import share_group_lag, share_waiting_from

NOW = 1_000_000


@pytest.mark.parametrize(
    ("name", "typed", "sent"),
    [
        (sc.AUTO_OFFSET_RESET, " Earliest ", "earliest"),
        (sc.AUTO_OFFSET_RESET, "latest", "latest"),
        (sc.AUTO_OFFSET_RESET, "by_duration:pt1h30m", "by_duration:PT1H30M"),
        (sc.AUTO_OFFSET_RESET, "by_duration:P2DT3H", "by_duration:P2DT3H"),
        (sc.LOCK_DURATION, "30000", "30000"),
        (sc.LOCK_DURATION, "45 s", "45000"),
        (sc.LOCK_DURATION, "1 min", "60000"),
        (sc.DELIVERY_LIMIT, "5", "5"),
        (sc.ISOLATION_LEVEL, "READ_COMMITTED", "read_committed"),
    ],
)
def test_accepted_values_are_normalised(name: str, typed: str, sent: str) -> None:
    assert sc.check(name, typed) == sent


@pytest.mark.parametrize(
    ("name", "typed", "says"),
    [
        (sc.AUTO_OFFSET_RESET, "oldest", "earliest, latest or by_duration"),
        (sc.AUTO_OFFSET_RESET, "by_duration:", "by_duration:<ISO-8601"),
        (sc.AUTO_OFFSET_RESET, "by_duration:PT", "by_duration:<ISO-8601"),
        (sc.AUTO_OFFSET_RESET, "by_duration:1 hour", "by_duration:<ISO-8601"),
        (sc.LOCK_DURATION, "0", "not a duration"),
        (sc.LOCK_DURATION, "soon", "not a duration"),
        (sc.LOCK_DURATION, "30 days", "at most 2147483647 ms"),
        (sc.DELIVERY_LIMIT, "0", "positive whole number"),
        (sc.DELIVERY_LIMIT, "-3", "positive whole number"),
        (sc.DELIVERY_LIMIT, "2.5", "positive whole number"),
        (sc.DELIVERY_LIMIT, "99999999999", "positive whole number"),
        (sc.ISOLATION_LEVEL, "serializable", "read_committed or read_uncommitted"),
        ("share.session.timeout.ms", "1000", "cannot be changed from the console"),
    ],
)
def test_refused_values_say_what_is_accepted(name: str, typed: str, says: str) -> None:
    with pytest.raises(InputError, match=says):
        sc.check(name, typed)


def test_changes_set_what_differs_and_remove_what_was_emptied() -> None:
    overrides = {sc.AUTO_OFFSET_RESET: "earliest", sc.DELIVERY_LIMIT: "5"}
    submitted = {
        sc.AUTO_OFFSET_RESET: "earliest",  # unchanged
        sc.LOCK_DURATION: "20 s",  # new
        sc.DELIVERY_LIMIT: "",  # emptied: back to the default
        sc.ISOLATION_LEVEL: "",  # was never set: nothing to do
    }
    assert sc.changes(submitted, overrides) == {sc.LOCK_DURATION: "20000", sc.DELIVERY_LIMIT: None}
    assert sc.changes({sc.AUTO_OFFSET_RESET: "earliest"}, {sc.AUTO_OFFSET_RESET: "earliest"}) == {}


def test_changes_report_every_bad_field_at_once() -> None:
    with pytest.raises(InputError) as caught:
        sc.changes({sc.DELIVERY_LIMIT: "x", sc.ISOLATION_LEVEL: "y"}, {})
    assert sc.DELIVERY_LIMIT in str(caught.value)
    assert sc.ISOLATION_LEVEL in str(caught.value)


def _desc(*assigned: tuple[str, int]) -> GroupDescription:
    members = (Member("m1", "rdkafka", "127.0.0.1", tuple(assigned)),) if assigned else ()
    return GroupDescription("g", "STABLE", "SHARE", "simple", "", members)


def test_backlog_per_share_partition() -> None:
    starts = {
        ("t", 0): ShareStart(start=10, lag=7),  # 3 of 10..19 acknowledged out of order
        ("t", 1): ShareStart(start=5, lag=None),  # a broker reporting no lag (v0)
        ("t", 2): ShareStart(start=None, lag=None),  # not initialized yet
        ("t", 3): ShareStart(start=8, lag=0),  # everything acknowledged
    }
    ends = {("t", 0): 20, ("t", 1): 9, ("t", 2): 4, ("t", 3): 8, ("t", 4): 6}
    stamps = {("t", 0): NOW - 5_000, ("t", 1): None}

    lag = share_group_lag(_desc(("t", 4)), starts, ends, stamps, NOW)

    rows = {(p.topic, p.partition): p for p in lag.partitions}
    assert sorted(rows) == [("t", 0), ("t", 1), ("t", 2), ("t", 3), ("t", 4)]  # 4: assigned
    assert (rows[("t", 0)].committed, rows[("t", 0)].lag, rows[("t", 0)].lag_ms) == (10, 7, 5_000)
    assert (rows[("t", 1)].lag, rows[("t", 1)].lag_ms) == (4, None)  # end - SPSO, age unknown
    assert (rows[("t", 2)].committed, rows[("t", 2)].lag) == (None, None)
    assert (rows[("t", 3)].lag, rows[("t", 3)].lag_ms) == (0, 0)
    assert rows[("t", 4)].lag is None
    assert lag.total_lag == 11
    assert lag.max_lag_ms == 5_000
    assert lag.is_share
    # Records no longer waiting: (20 - 7) + (9 - 4) + (8 - 0); unknown partitions count 0.
    assert lag.done_sum == 26


def test_only_partitions_with_records_waiting_are_peeked() -> None:
    starts = {
        ("t", 0): ShareStart(start=10, lag=7),
        ("t", 1): ShareStart(start=9, lag=None),  # at the log end
        ("t", 2): ShareStart(start=None, lag=None),
        ("t", 3): ShareStart(start=3, lag=0),  # all after it acknowledged
    }
    ends = {("t", 0): 20, ("t", 1): 9, ("t", 2): 4, ("t", 3): 8}
    assert share_waiting_from(starts, ends) == {("t", 0): 10}
