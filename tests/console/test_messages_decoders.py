"""Decoders, filters and the small parsers behind the message browser (no cluster needed)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from console import decoders
from console.browse import Query, RecordFilter, encode_value, parse_headers, parse_json_path
from console.inputs import parse_duration, parse_timestamp
from console.kafka.model import Record
from console.message_rows import tail_row_html
from console.views.message_query import format_cursor, parse_cursor


def record(value: bytes | None, key: bytes | None = b"k", headers: tuple = ()) -> Record:  # type: ignore[type-arg]
    return Record(0, 0, 1_700_000_000_000, "CreateTime", key, value, headers)


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b'{"a": [1, 2]}', "json"),
        (b"  [1, 2]", "json"),
        (b"42", "text"),  # a bare number reads as well as text
        (b"{not json", "text"),
        ("héllo\nworld\t!".encode(), "text"),
        (b"\x00\x01binary", "hex"),
        (b"\xff\xfe", "hex"),
        (b"", "text"),
    ],
)
def test_auto_detection(raw: bytes, kind: str, db: Any) -> None:
    # `db`: bytes that start like Confluent's wire format make the registry look the id up.
    assert decoders.decode(raw).kind == kind


def test_each_decoder_output() -> None:
    doc = decoders.decode(b'{"b":1,"a":{"c":[true,null]}}')
    assert doc.data == {"b": 1, "a": {"c": [True, None]}}
    assert doc.text.splitlines()[:2] == ["{", '  "b": 1,']  # pretty, key order kept
    assert decoders.decode(b"\x00\xff", "hex").text == "00 ff"
    assert decoders.decode("ünï".encode(), "text").text == "ünï"
    assert decoders.decode(None).is_null
    assert decoders.decode(b"abc").size == 3


def test_forced_decoder_that_cannot_read_falls_back_to_hex_and_says_why() -> None:
    result = decoders.decode(b"plain", "json")
    assert result.kind == "hex"
    assert result.text == "70 6c 61 69 6e"
    assert result.error.startswith("not JSON")
    assert decoders.decode(b"\xff", "text").error.startswith("not Text")
    with pytest.raises(ValueError, match="unknown decoder"):
        decoders.decode(b"x", "avro")


def test_choices_start_with_auto() -> None:
    assert decoders.choices()[0] == ("auto", "Auto-detect")
    assert {name for name, _ in decoders.choices()} == {
        "auto",
        "schema-registry",
        "json",
        "text",
        "hex",
    }


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("$.order.items[0].sku", ["order", "items", 0, "sku"]),
        ("order.items.0.sku", ["order", "items", 0, "sku"]),
        ('$["a b"].c', ["a b", "c"]),
        ("id", ["id"]),
    ],
)
def test_json_paths(path: str, parts: list[str | int]) -> None:
    assert parse_json_path(path) == parts


@pytest.mark.parametrize("bad", ["$", "", "a..b", "a[x]"])
def test_bad_json_paths(bad: str) -> None:
    with pytest.raises(ValueError, match="JSON path"):
        parse_json_path(bad)


def test_json_filter_comparisons() -> None:
    doc = record(
        json.dumps({"n": 5, "s": "Hello", "l": ["x", 2], "d": {"k": 1}, "b": False}).encode()
    )
    assert RecordFilter(json_path="n", json_value="5").matches(doc)
    assert not RecordFilter(json_path="n", json_value="6").matches(doc)
    assert RecordFilter(json_path="s", json_value="Hello").matches(doc)
    assert RecordFilter(json_path="s", json_op="contains", json_value="ell").matches(doc)
    assert RecordFilter(json_path="l", json_op="contains", json_value="2").matches(doc)
    assert RecordFilter(json_path="l", json_op="contains", json_value="x").matches(doc)
    assert RecordFilter(json_path="d", json_op="contains", json_value="k").matches(doc)
    assert RecordFilter(json_path="b", json_value="false").matches(doc)
    assert RecordFilter(json_path="l[1]", json_value="2").matches(doc)
    assert not RecordFilter(json_path="missing", json_value="5").matches(doc)
    assert not RecordFilter(json_path="n", json_value="5").matches(record(b"not json"))
    assert not RecordFilter(json_path="n", json_value="5").matches(record(None))


def test_text_filter_scopes() -> None:
    rec = record(b"Value Text", key=b"the-key", headers=(("trace", b"abc"),))
    assert RecordFilter(text="value text").matches(rec)  # case-insensitive
    assert RecordFilter(text="KEY", text_in="key").matches(rec)
    assert not RecordFilter(text="value", text_in="key").matches(rec)
    assert RecordFilter(text="abc", text_in="headers").matches(rec)
    assert RecordFilter(text="trace", text_in="headers").matches(rec)
    assert not RecordFilter(text="abc", text_in="value").matches(rec)
    assert not RecordFilter(text="nowhere").matches(rec)
    assert not RecordFilter().active
    with pytest.raises(ValueError, match="search in one of"):
        RecordFilter(text="x", text_in="everywhere")


def test_durations_and_timestamps() -> None:
    assert parse_duration("90s") == 90_000
    assert parse_duration("1d 6h") == 30 * 3_600_000
    assert parse_duration("15m") == 900_000
    assert parse_duration("250ms") == 250
    assert parse_duration("1w") == 7 * 86_400_000
    for bad in ("", "soon", "5 parsecs", "3h later"):
        with pytest.raises(ValueError, match="duration"):
            parse_duration(bad)
    assert parse_timestamp("1700000000000") == 1_700_000_000_000
    assert parse_timestamp("2023-11-14T22:13:20Z") == 1_700_000_000_000
    assert parse_timestamp("2023-11-14T22:13:20") == 1_700_000_000_000  # UTC by default
    assert parse_timestamp("2023-11-15T00:13:20+02:00") == 1_700_000_000_000


def test_query_validation() -> None:
    with pytest.raises(ValueError, match="start at one of"):
        Query("t", start="middle")
    with pytest.raises(ValueError, match="between 1 and 500"):
        Query("t", limit=0)


def test_produce_helpers() -> None:
    assert parse_headers("a: 1\n\nb=two words\nc: x:y") == [
        ("a", b"1"),
        ("b", b"two words"),
        ("c", b"x:y"),
    ]
    with pytest.raises(ValueError, match="header line 2"):
        parse_headers("a: 1\nnope")
    assert encode_value('{ "a" : [1, 2] }', "json") == b'{"a":[1,2]}'
    assert encode_value("é", "text") == "é".encode()
    with pytest.raises(ValueError, match="not valid JSON"):
        encode_value("{", "json")


def test_cursor_round_trip() -> None:
    assert parse_cursor(format_cursor({1: 98, 0: 120})) == {0: 120, 1: 98}
    assert format_cursor({1: 98, 0: 120}) == "0:120,1:98"


def test_tail_rows_escape_and_truncate() -> None:
    row = tail_row_html(record(b"<script>alert(1)</script>", key=b"<k>"))
    assert "<script>" not in row
    assert "&lt;script&gt;" in row
    assert "&lt;k&gt;" in row
    long = tail_row_html(record(b"x" * 5000))
    assert "x" * 300 + "…" in long
    assert "x" * 301 not in long
    assert 'class="val fmt-hex">00 ff<' in tail_row_html(record(b"\x00\xff"))
    assert "<em>null</em>" in tail_row_html(record(None, key=None))
