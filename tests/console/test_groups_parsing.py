"""What people type into the reset form, the compact assignment text and the SVG charts:
pure functions, no cluster."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from console.inputs import InputError, parse_duration, parse_partitions, parse_timestamp
from console.lag.charts import line_chart
from console.lag.reset_plan import Plan, PlanRow, ResetSpec
from console.views.group_detail import ranges

H = 3_600_000


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("30 days", 30 * 24 * H),
        ("2h", 2 * H),
        ("1 hour", H),
        ("1 hour ago", H),
        ("90 min", 90 * 60_000),
        ("1 h 30 min", 90 * 60_000),
        ("1.5h", 90 * 60_000),
        ("2 weeks", 14 * 24 * H),
        ("45s", 45_000),
    ],
)
def test_durations_in_plain_words(text: str, ms: int) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Type a duration"),
        ("banana", "is not a duration"),
        ("3 fortnights", "Unknown time unit"),
        ("2h and more", "is not a duration"),
        ("0 s", "is not a duration"),
    ],
)
def test_bad_durations_say_what_to_type(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_duration(text)


def test_timestamps_are_utc_unless_they_say_otherwise() -> None:
    utc = int(datetime(2026, 11, 26, 15, 0, tzinfo=UTC).timestamp() * 1000)
    assert parse_timestamp("2026-11-26 15:00") == utc
    assert parse_timestamp("2026-11-26T15:00:00Z") == utc
    assert parse_timestamp("2026-11-26T16:00:00+01:00") == utc
    assert parse_timestamp(str(utc)) == utc
    with pytest.raises(InputError, match="is not a date"):
        parse_timestamp("tomorrow")


@pytest.mark.parametrize(
    ("mode", "value", "message"),
    [
        ("rewind", "", "Choose how to reset"),
        ("offset", "-1", "never negative"),
        ("offset", "x", "not a whole number"),
        ("shift", "", "not a whole number"),
        ("group", " ", "id of the group"),
    ],
)
def test_reset_specs_are_checked_up_front(mode: str, value: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        ResetSpec(mode, value)


def test_spec_descriptions_read_as_sentences() -> None:
    assert ResetSpec("duration", "1 hour").describe() == "to 1 hour ago"
    assert ResetSpec("shift", "-100").describe() == "shift by -100"
    assert ResetSpec("earliest").describe() == "to earliest"
    assert ResetSpec("group", "billing").describe() == "copy from group 'billing'"


def test_plan_rows_count_replayed_and_skipped_and_round_trip() -> None:
    rows = [
        PlanRow("t", 0, current=10, new=4, start=0, end=20, new_timestamp=1),
        PlanRow("t", 1, current=3, new=9, start=0, end=20, new_timestamp=None),
        PlanRow("t", 2, current=None, new=-1, start=0, end=5, new_timestamp=None, note="x"),
    ]
    plan = Plan("g", ResetSpec("offset", "4"), rows, made_at_ms=5)
    assert (plan.replayed, plan.skipped) == (6, 6)
    assert plan.offsets == {("t", 0): 4, ("t", 1): 9}  # "left unchanged" is not written
    assert Plan.from_json(plan.to_json()) == plan


def test_partition_lists_andranges() -> None:
    assert parse_partitions("") is None
    assert parse_partitions("0, 2, 5-7") == [0, 2, 5, 6, 7]
    with pytest.raises(InputError, match="is not a partition list"):
        parse_partitions("1,,a")
    assignment = (*(("t", p) for p in [*range(1000), 1002]), ("u", 3))
    assert ranges(assignment) == "t[0-999, 1002]; u[3]"


def test_chart_draws_every_series_and_escapes_names() -> None:
    svg = line_chart(
        [("lag <b>", [(0.0, 1.0), (60.0, 5.0)]), ("rate", [(0.0, 2.0), (60.0, 0.0)])],
        title="Lag & rates",
    )
    assert svg.count("<polyline") == 2
    assert "lag &lt;b&gt;" in svg
    assert "Lag &amp; rates" in svg
    assert ">5<" in svg  # the y-axis maximum
    assert "not enough samples" in line_chart([("lag", [(0.0, 1.0)])], title="Lag")
