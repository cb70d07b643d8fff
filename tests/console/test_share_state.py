"""Kafka's persisted share-partition state read back (`console.share_state`): snapshot and
update records decoded from bytes laid out as the share coordinator writes them (and as
read from Kafka 4.4's `__share_group_state`), replayed in log order, summed up from the
start offset to the log end; damaged or unknown records are counted, never trusted."""

from __future__ import annotations

import struct
import uuid

import pytest

from console import share_state as st

TOPIC = uuid.UUID("55c7f424-9c3b-4439-87d0-36c5fc590a8d")
OTHER = uuid.UUID(int=7)
UPDATE_HEAD = 18  # version, snapshot epoch, leader epoch, start offset


def key(kind: int, group: str, topic: uuid.UUID = TOPIC, partition: int = 0) -> bytes:
    raw = group.encode()
    return struct.pack(">hh", kind, len(raw)) + raw + topic.bytes + struct.pack(">i", partition)


def spans(*batches: tuple[int, int, int, int]) -> bytes:
    out = bytes([len(batches) + 1])
    for first, last, state, deliveries in batches:
        out += struct.pack(">qqbh", first, last, state, deliveries) + b"\x00"
    return out


def snapshot(start: int, *batches: tuple[int, int, int, int]) -> bytes:
    head = struct.pack(">hiiiqqq", 0, 1, 2, 0, start, 1_700_000_000_000, 1_700_000_000_500)
    # A tagged field at the end (DeliveryCompleteCount, tag 0), as Kafka 4.2+ writes it.
    return head + spans(*batches) + b"\x01\x00\x04" + struct.pack(">i", 3)


def update(start: int, *batches: tuple[int, int, int, int]) -> bytes:
    return struct.pack(">hiiq", 0, 0, 0, start) + spans(*batches) + b"\x00"


def test_a_record_read_from_kafka_decodes() -> None:
    # Update record 6 of Kafka 4.4's __share_group_state after accept/reject/release.
    value = bytes.fromhex(
        "000000000000000000000000000000000000080000000000000000000000000000000102000100"
        "00000000000000020000000000000002040001000000000000000003000000000000000400000100"
        "000000000000000500000000000000050200010000000000000000060000000000000006000001"
        "00000000000000000700000000000000070400010000000000000000080000000000000009000001"
        "0000"
    )
    start, found = st.decode_value(st.UPDATE, value)
    assert start == 0
    assert [(s.first, s.last, s.state) for s in found][:4] == [
        (0, 1, 2),
        (2, 2, 4),
        (3, 4, 0),
        (5, 5, 2),
    ]
    kind, (group, topic, partition) = st.decode_key(
        bytes.fromhex(
            "0001000e67656e2d3735376239313966353555c7f4249c3b443987d036c5fc590a8d00000000"
        )
    )
    assert (kind, group, topic, partition) == (st.UPDATE, "gen-757b919f55", TOPIC, 0)


def test_snapshot_then_updates_replay_in_order() -> None:
    records = [
        (key(0, "g"), snapshot(0, (0, 9, st.AVAILABLE, 1))),
        (key(1, "g"), update(-1, (2, 2, st.ARCHIVED, 1), (5, 5, st.ACKNOWLEDGED, 1))),
        (key(1, "g"), update(3, (0, 1, st.ACKNOWLEDGED, 1), (6, 6, st.AVAILABLE, 2))),
        (key(1, "other-group"), update(9, (0, 9, st.ACKNOWLEDGED, 1))),
        (key(0, "g", OTHER, 1), snapshot(4)),
    ]
    out = st.replay(records, "g")

    mine = out.partitions[(TOPIC, 0)]
    assert mine.start == 3
    assert [(s.first, s.last, s.state, s.deliveries) for s in mine.spans] == [
        (3, 4, st.AVAILABLE, 1),
        (5, 5, st.ACKNOWLEDGED, 1),
        (6, 6, st.AVAILABLE, 2),
        (7, 9, st.AVAILABLE, 1),
    ]
    assert out.partitions[(OTHER, 1)].start == 4
    assert out.unreadable == 0

    flight = st.in_flight(mine, end=12)
    assert (flight.acknowledged, flight.archived, flight.redelivery) == (1, 0, 6)
    assert flight.untracked == 2  # 10 and 11 have no persisted state
    assert flight.deliveries == {1: 6, 2: 1}


def test_a_newer_snapshot_replaces_everything_before_it() -> None:
    records = [
        (key(0, "g"), snapshot(0, (0, 4, st.ARCHIVED, 5))),
        (key(0, "g"), snapshot(8, (9, 9, st.ARCHIVED, 5))),
    ]
    state = st.replay(records, "g").partitions[(TOPIC, 0)]
    flight = st.in_flight(state, end=10)
    assert (state.start, flight.archived, flight.untracked) == (8, 1, 1)
    assert [(s.first, s.last) for s in flight.archived_spans] == [(9, 9)]


@pytest.mark.parametrize(
    "damage",
    [
        lambda k, v: (k[:5], v),  # key cut inside the group id
        lambda k, v: (k, v[:30]),  # value cut inside the spans
        lambda k, v: (k, b"\x00\x07" + v[2:]),  # a value version nobody knows
        lambda k, v: (b"\x00\x05" + k[2:], v),  # another record type
        lambda k, v: (
            k,
            v[:UPDATE_HEAD] + b"\xff\xff\xff\xff\x0f",
        ),  # a span count beyond the bytes
        lambda k, v: (
            k,
            v[:UPDATE_HEAD] + b"\x02" + struct.pack(">qqbh", 9, 3, 0, 1) + b"\x00\x00",
        ),
    ],
)
def test_damaged_records_are_counted_not_trusted(damage: object) -> None:
    good = (key(1, "g"), update(0, (0, 3, st.ACKNOWLEDGED, 1)))
    bad = damage(*good)  # type: ignore[operator]
    out = st.replay([good, bad], "g")
    assert out.unreadable == 1
    assert out.partitions[(TOPIC, 0)].spans == [st.Span(0, 3, st.ACKNOWLEDGED, 1)]


def test_tombstones_and_keyless_records_are_ignored() -> None:
    assert st.replay([(None, b"x"), (key(0, "g"), None)], "g").partitions == {}
