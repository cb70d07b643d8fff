"""Committed-offset records: encoding, replay, tombstones."""

from __future__ import annotations

from logstore.groups.offsets import (
    CommittedOffset,
    OffsetTable,
    decode_key,
    decode_value,
    encode_key,
    records_for,
)


def test_key_and_value_round_trip() -> None:
    key = encode_key("g", "orders", 3)
    assert decode_key(key) == ("g", "orders", 3)
    value = CommittedOffset(42, 0, "meta", 1_700_000_000_000)
    recs = list(records_for("g", [("orders", 3, value)]))
    assert decode_value(recs[0][1]) == value  # type: ignore[arg-type]
    null_meta = CommittedOffset(1, -1, None, 5)
    ((_, raw),) = records_for("g", [("t", 0, null_meta)])
    assert raw is not None
    assert decode_value(raw) == null_meta


def test_puts_keep_the_latest_value_and_where_it_was_written() -> None:
    table = OffsetTable()
    table.put("g", "t", 0, CommittedOffset(5), 10)
    table.put("g", "t", 1, CommittedOffset(7), 11)
    table.put("g", "t", 0, CommittedOffset(9), 12)
    table.put("g", "t", 1, None)
    assert table.get("g", "t", 0) == CommittedOffset(9)
    assert table.record_offset("g", "t", 0) == 12
    assert table.get("g", "t", 1) is None
    assert table.record_offset("g", "t", 1) == -1
    assert table.groups() == ["g"]
    table.put("g", "t", 0, None)
    assert not table.has_group("g")


def test_forget_topic() -> None:
    table = OffsetTable()
    table.put("a", "t", 0, CommittedOffset(1))
    table.put("b", "t", 1, CommittedOffset(2))
    table.put("b", "u", 0, CommittedOffset(3))
    assert sorted(table.forget_topic("t")) == [("a", "t", 0), ("b", "t", 1)]
    assert table.groups() == ["b"]
