"""The console's one input grammar, both ways (no cluster needed)."""

from __future__ import annotations

import pytest

from console.inputs import (
    LONG_MAX,
    InputError,
    config_text,
    duration_text,
    parse_config,
    parse_duration,
    parse_size,
)


@pytest.mark.parametrize(
    ("name", "raw", "shown"),
    [
        ("retention.ms", "604800000", "7 days"),
        ("retention.ms", "86400000", "1 day"),
        ("retention.ms", "-1", "forever"),
        ("flush.ms", str(LONG_MAX), "never"),
        ("flush.messages", str(LONG_MAX), "never"),
        ("flush.messages", "10", "10"),
        ("segment.bytes", "1073741824", "1 GiB"),
        ("retention.bytes", "-1", "no limit"),
        ("max.message.bytes", "1048588", "1048588 B"),
        ("cleanup.policy", "compact,delete", "compact,delete"),
        ("segment.jitter.ms", "0", "0 ms"),
    ],
)
def test_config_values_shown_in_words_read_back_exactly(name: str, raw: str, shown: str) -> None:
    assert config_text(name, raw) == shown
    assert parse_config(name, shown) == raw


def test_config_input_takes_words_or_kafka_numbers() -> None:
    assert parse_config("retention.ms", "2h") == "7200000"
    assert parse_config("retention.ms", "172800000") == "172800000"
    assert parse_config("retention.bytes", "500 MB") == "500000000"
    assert parse_config("flush.messages", "never") == str(LONG_MAX)
    assert parse_config("retention.ms", "") == ""
    with pytest.raises(InputError, match="Unknown time unit"):
        parse_config("retention.ms", "2 fortnights")


def test_one_duration_grammar_for_every_page() -> None:
    for text in ("90 min", "1 h 30 min", "1.5h", "5400s", "5400000"):
        assert parse_duration(text) == 5_400_000
    assert parse_duration("2 hours ago") == 7_200_000
    assert parse_duration("forever", config=True) == -1
    with pytest.raises(InputError, match="is not a duration"):
        parse_duration("forever")
    with pytest.raises(InputError, match="is not a duration"):
        parse_duration("0 s")
    assert parse_duration("0", config=True) == 0
    assert duration_text(parse_duration("3 days")) == "3 days"
    assert parse_size("2GiB") == 2 * 1024**3
