"""Numbers in plain words with exact values on hover, and parsing what people type."""

from __future__ import annotations

import pytest

from console.forms import parse_duration_ms, parse_size_bytes, topic_name_problems
from console.templatetags.odradek import (
    age_h,
    bytes_h,
    count_h,
    duration_in,
    human_age,
    human_bytes,
    human_count,
    human_rate,
    rate_h,
    size_in,
    ts,
)


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1234, "1.2 kB"),
        (1_200_000_000, "1.2 GB"),
        (56_700_000, "57 MB"),
    ],
)
def test_human_bytes(n: int, text: str) -> None:
    assert human_bytes(n) == text


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (6 * 86_400_000 + 4 * 3_600_000 + 59_000, "6 days 4 h"),
        (86_400_000, "1 day"),
        (3 * 3_600_000 + 12 * 60_000, "3 h 12 min"),
        (40_000, "40 s"),
        (250, "250 ms"),
        (-1, "forever"),
    ],
)
def test_human_age(ms: int, text: str) -> None:
    assert human_age(ms) == text


def test_human_count_and_rate() -> None:
    assert human_count(9999) == "9,999"
    assert human_count(1_234_567) == "1.2 M"
    assert human_rate(80_000_000 / 86_400) == "80 MB/day"
    assert human_rate(2_000_000_000) == "2.0 GB/s"  # 173 TB/day reads better per second
    assert human_rate(1 / 86_400) == "1 B/day"
    assert human_rate(3, "msg") == "3 msg/s"
    assert human_rate(4 / 3600, "msg") == "4 msg/h"


def test_filters_put_exact_value_in_title() -> None:
    assert bytes_h(1_234_567) == '<span title="1,234,567 bytes">1.2 MB</span>'
    assert count_h(12_345) == '<span title="12,345">12 k</span>'
    assert age_h(90_000) == '<span title="90,000 ms">1 min 30 s</span>'
    assert rate_h(2.5) == '<span title="2.500 B/s">216 kB/day</span>'
    assert ts(1_700_000_000_123) == (
        '<time datetime="2023-11-14T22:13:20.123000+00:00" '
        'title="2023-11-14 22:13:20.123 UTC (1700000000123 ms)">2023-11-14 22:13</time>'
    )
    for f in (bytes_h, count_h, age_h, rate_h, ts):
        assert f(None) == "—"


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("7 days", 604_800_000),
        ("12h", 43_200_000),
        ("90 min", 5_400_000),
        ("forever", -1),
        ("1.5 d", 129_600_000),
        ("500", 500),
        ("604800000 ms", 604_800_000),
        ("2 hours", 7_200_000),
        ("3 mins", 180_000),
        ("10 s", 10_000),
    ],
)
def test_parse_duration(text: str, ms: int) -> None:
    assert parse_duration_ms(text) == ms


@pytest.mark.parametrize(
    ("text", "n"), [("500 MB", 500_000_000), ("2GiB", 2 * 1024**3), ("none", -1), ("10 bytes", 10)]
)
def test_parse_size(text: str, n: int) -> None:
    assert parse_size_bytes(text) == n


def test_parse_errors_say_what_to_type() -> None:
    with pytest.raises(ValueError, match="try '7 days'"):
        parse_duration_ms("a fortnight")
    with pytest.raises(ValueError, match="Unknown time unit 'parsecs'"):
        parse_duration_ms("3 parsecs")
    with pytest.raises(ValueError, match="Unknown size unit"):
        parse_size_bytes("3 furlongs")


def test_topic_name_rules() -> None:
    assert topic_name_problems("orders.v1") == ([], [])
    assert topic_name_problems("")[0] == ["A topic needs a name."]
    assert topic_name_problems("..")[0] == ['A topic cannot be called "." or "..".']
    errors, _ = topic_name_problems("a b/c")
    assert errors == ["Only letters, digits, '.', '_' and '-' are allowed; remove ' ' '/'."]
    assert "at most 249" in topic_name_problems("x" * 250)[0][0]
    assert topic_name_problems("x" * 249) == ([], [])
    _, warnings = topic_name_problems("a.b_c")
    assert "collisions" in warnings[0]
    errors, _ = topic_name_problems("metrics_cpu", {"metrics.cpu"})
    assert "collide" in errors[0]
    assert topic_name_problems("__internal")[1] == [
        "Names starting with '__' are for internal topics."
    ]


def test_form_values_round_trip_through_the_parsers() -> None:
    for ms in (604_800_000, 43_200_000, 90_000, 1500, -1):
        assert parse_duration_ms(duration_in(ms)) == ms
    assert duration_in(604_800_000) == "7 days"
    for n in (10**9, 512 * 1024**2, 1234):
        assert parse_size_bytes(size_in(n)) == n
    assert size_in(-1) == ""
