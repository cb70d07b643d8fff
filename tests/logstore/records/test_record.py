"""Record encoding: varints and encode/decode round trips (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from logstore.records import (
    RecordEntry,
    build_batch,
    decode_records,
    encode_batch,
    encode_varint,
    record_stamps,
    validate_batch,
)
from logstore.records.record import _read_varint

optional_bytes = st.none() | st.binary(max_size=40)


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_varint_round_trip(value: int) -> None:
    raw = encode_varint(value)
    assert _read_varint(raw, 0) == (value, len(raw))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            optional_bytes,
            optional_bytes,
            st.lists(st.tuples(st.text(max_size=5), optional_bytes), max_size=2),
            st.integers(min_value=0, max_value=2**40),
        ),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from([0, 1, 2, 3, 4]),
)
def test_batch_round_trip(items, codec: int) -> None:
    raw = build_batch(
        [(k, v, h) for k, v, h, _ in items], timestamps=[t for *_, t in items], codec=codec
    )
    header = validate_batch(raw)
    assert header.max_timestamp == max(t for *_, t in items)
    decoded = decode_records(raw)
    assert [(r.key, r.value, r.headers, r.timestamp) for r in decoded] == [
        (k, v, list(h), t) for k, v, h, t in items
    ]
    assert [r.offset for r in decoded] == list(range(len(items)))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(optional_bytes, st.integers(min_value=0, max_value=2**40), st.booleans()),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from([0, 1, 2, 3, 4]),
    st.sampled_from([0, 1]),
)
def test_record_stamps_agree_with_full_decoding(items, codec: int, timestamp_type: int) -> None:
    # Kept records of a compacted batch have gaps in their offset deltas.
    kept = [(delta, ts, value) for delta, (value, ts, keep) in enumerate(items) if keep]
    if not kept:
        return
    raw = encode_batch(
        [RecordEntry(delta, ts, b"k", value) for delta, ts, value in kept],
        base_offset=100,
        last_offset_delta=len(items) - 1,
        codec=codec,
        timestamp_type=timestamp_type,
    )
    assert list(record_stamps(raw)) == [(r.offset, r.timestamp) for r in decode_records(raw)]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=2**41), min_size=1, max_size=5),
    st.integers(min_value=0, max_value=2**42),
    st.sampled_from([0, 1, 4]),
)
def test_a_delete_horizon_takes_the_base_timestamp_and_keeps_record_times(
    stamps: list[int], horizon: int, codec: int
) -> None:
    entries = [RecordEntry(i, ts, b"k", None) for i, ts in enumerate(stamps)]
    raw = encode_batch(entries, codec=codec, delete_horizon_ms=horizon)
    header = validate_batch(raw)
    assert header.attributes & 0x40  # Kafka's delete-horizon attribute bit
    assert header.base_timestamp == header.delete_horizon_ms == horizon
    assert [r.timestamp for r in decode_records(raw)] == stamps
    assert validate_batch(encode_batch(entries)).delete_horizon_ms is None


def test_an_emptied_batch_keeps_its_offsets_and_time() -> None:
    raw = encode_batch([], base_offset=7, last_offset_delta=3, max_timestamp=1234, producer_id=5)
    header = validate_batch(raw)
    assert (header.records_count, header.next_offset, header.producer_id) == (0, 11, 5)
    assert header.base_timestamp == header.max_timestamp == 1234
    assert decode_records(raw) == []
