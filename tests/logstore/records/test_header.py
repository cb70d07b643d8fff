"""RecordBatch v2 header: parsing, validation, splitting, patching, and interop with kafka-python."""

from __future__ import annotations

import pytest
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder

from logstore.records import (
    CorruptRecordError,
    build_batch,
    decode_records,
    iter_headers,
    parse_header,
    set_base_offset,
    set_log_append_time,
    split_batches,
    validate_batch,
)


def sample(n: int = 3, **kw: object) -> bytes:
    return build_batch([(b"k%d" % i, b"v%d" % i) for i in range(n)], timestamp=1000, **kw)  # type: ignore[arg-type]


def test_header_fields_and_properties() -> None:
    raw = sample(3, producer_id=7, producer_epoch=2, base_sequence=10, transactional=True)
    h = validate_batch(raw)
    assert (h.magic, h.records_count, h.last_offset_delta) == (2, 3, 2)
    assert (h.producer_id, h.producer_epoch, h.base_sequence) == (7, 2, 10)
    assert h.is_transactional
    assert not h.is_control
    assert h.size == len(raw)
    assert h.last_offset == h.base_offset + 2
    assert h.compression == 0
    assert h.timestamp_type == 0


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b.__setitem__(16, 1), "magic"),
        (lambda b: b.__setitem__(len(b) - 1, b[-1] ^ 0xFF), "CRC"),
        (lambda b: b.__setitem__(30, b[30] ^ 0x01), "CRC"),
        (lambda b: b.__setitem__(slice(8, 12), (10).to_bytes(4, "big")), "too small"),
        (lambda b: b.__setitem__(slice(8, 12), (10_000).to_bytes(4, "big")), "torn"),
    ],
)
def test_validate_rejects_damaged_batches(mutate, message: str) -> None:
    raw = bytearray(sample())
    mutate(raw)
    with pytest.raises(CorruptRecordError, match=message) as info:
        validate_batch(raw)
    assert info.value.code == 2


def test_short_header_is_corrupt() -> None:
    with pytest.raises(CorruptRecordError):
        parse_header(sample()[:60])


def test_split_batches_and_torn_tail() -> None:
    data = sample(1) + sample(2) + sample(3)
    views = split_batches(data)
    assert [validate_batch(v).records_count for v in views] == [1, 2, 3]
    assert [h.records_count for _, h in iter_headers(data)] == [1, 2, 3]
    with pytest.raises(CorruptRecordError):
        split_batches(data[:-5])
    assert [h.records_count for _, h in iter_headers(data[:-5])] == [1, 2]


def test_patching_base_offset_keeps_crc_valid() -> None:
    raw = bytearray(sample())
    set_base_offset(raw, 0, 123456789)
    h = validate_batch(raw)
    assert h.base_offset == 123456789
    assert [r.offset for r in decode_records(raw)] == [123456789, 123456790, 123456791]


def test_log_append_time_recomputes_crc_and_timestamps() -> None:
    raw = bytearray(sample())
    set_log_append_time(raw, 0, 5555)
    h = validate_batch(raw)
    assert h.timestamp_type == 1
    assert h.max_timestamp == 5555
    assert {r.timestamp for r in decode_records(raw)} == {5555}


def test_kafka_python_reads_our_batches() -> None:
    ours = build_batch(
        [(b"a", b"1", [("h", b"x")]), (b"b", None), (None, b"3")], timestamps=[7, 9, 8]
    )
    theirs = DefaultRecordBatch(bytearray(ours))
    assert theirs.validate_crc()
    assert [(r.offset, r.timestamp, r.key, r.value, list(r.headers)) for r in theirs] == [
        (0, 7, b"a", b"1", [("h", b"x")]),
        (1, 9, b"b", None, []),
        (2, 8, None, b"3", []),
    ]


def test_we_read_kafka_python_batches() -> None:
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=0,
        is_transactional=False,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        batch_size=1 << 20,
    )
    builder.append(0, timestamp=1000, key=b"k", value=b"v", headers=[("h", b"x")])
    builder.append(1, timestamp=1005, key=None, value=b"w" * 300, headers=[])
    raw = bytes(builder.build())
    assert validate_batch(raw).records_count == 2
    records = decode_records(raw)
    assert [(r.offset, r.timestamp, r.key, r.value) for r in records] == [
        (0, 1000, b"k", b"v"),
        (1, 1005, None, b"w" * 300),
    ]
    assert records[0].headers == [("h", b"x")]
