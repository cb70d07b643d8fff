"""Append validation: nothing is written unless every batch is valid; offsets patched in place."""

from __future__ import annotations

import struct

import cramjam
import pytest
from crc32c import crc32c

from logstore.clock import ManualClock
from logstore.records import (
    CorruptRecordError,
    InvalidRecordError,
    InvalidTimestampError,
    RecordTooLargeError,
    UndecodableStreamError,
    build_batch,
    decode_records,
    split_batches,
    validate_batch,
)
from logstore.storage import LogManager

from .helpers import batch


def corrupt(raw: bytes) -> bytes:
    data = bytearray(raw)
    data[-1] ^= 0xFF
    return bytes(data)


def with_magic(raw: bytes, magic: int) -> bytes:
    data = bytearray(raw)
    data[16] = magic
    return bytes(data)


# The codes are Apache Kafka 4's answers (the differential suite checks them against it).
@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", InvalidRecordError),
        (batch(2)[:-3], InvalidRecordError),
        (batch(2)[:40], InvalidRecordError),
        (with_magic(batch(1), 1), InvalidRecordError),
        (with_magic(batch(1), 0)[:30], InvalidRecordError),
        (corrupt(batch(2)), CorruptRecordError),
        (batch(2) + corrupt(batch(1)), CorruptRecordError),
        (batch(1) + batch(1)[:20], InvalidRecordError),
        (batch(1, size=2000), RecordTooLargeError),
    ],
)
def test_invalid_appends_write_nothing(manager: LogManager, data: bytes, error) -> None:
    manager.create_topic("t", 1, {"max.message.bytes": "1000"})
    log = manager.log("t", 0)
    log.append(batch(1))
    with pytest.raises(error) as info:
        log.append(data)
    assert (
        info.value.code
        == {CorruptRecordError: 2, InvalidRecordError: 87, RecordTooLargeError: 10}[error]
    )
    assert log.log_end_offset == 1
    assert log.size_bytes == len(batch(1))


def test_several_batches_in_one_append(manager: LogManager) -> None:
    manager.create_topic("t", 1)
    log = manager.log("t", 0)
    result = log.append(batch(2) + batch(3) + batch(1))
    assert (result.base_offset, result.last_offset) == (0, 5)
    views = split_batches(log.read_batches(0, 1 << 20))
    assert [validate_batch(v).base_offset for v in views] == [0, 2, 5]


def test_producer_bytes_are_kept_except_offset_and_epoch(manager: LogManager) -> None:
    manager.create_topic("t", 1)
    log = manager.log("t", 0)
    log.append(batch(1))
    raw = bytearray(build_batch([(b"k", b"v")], producer_id=9, base_sequence=0, timestamp=5))
    raw[12:16] = (77).to_bytes(4, "big")  # a client-sent leader epoch is overwritten
    log.append(bytes(raw))
    stored = log.read_batches(1, 1 << 20)
    assert stored[16:] == bytes(raw[16:])
    header = validate_batch(stored)
    assert (header.base_offset, header.partition_leader_epoch) == (1, 0)


def test_compacted_topic_refuses_records_without_key(manager: LogManager) -> None:
    manager.create_topic("c", 1, {"cleanup.policy": "compact"})
    log = manager.log("c", 0)
    with pytest.raises(InvalidRecordError) as info:
        log.append(batch(1) + batch(2, key=None))
    assert info.value.code == 87
    assert log.log_end_offset == 0
    log.append(batch(2))
    assert log.log_end_offset == 2


def test_log_append_time(manager: LogManager, clock: ManualClock) -> None:
    manager.create_topic("t", 1, {"message.timestamp.type": "LogAppendTime"})
    log = manager.log("t", 0)
    result = log.append(build_batch([(b"k", b"v"), (b"k", b"w")], timestamp=5))
    assert result.log_append_time == clock.now_ms()
    stored = log.read_batches(0, 1 << 20)
    header = validate_batch(stored)
    assert header.timestamp_type == 1
    assert {r.timestamp for r in decode_records(stored)} == {clock.now_ms()}
    assert log.offset_for_timestamp(clock.now_ms()) == (0, clock.now_ms())


def test_create_time_reports_no_append_time(manager: LogManager) -> None:
    manager.create_topic("t", 1)
    assert manager.log("t", 0).append(batch(1)).log_append_time == -1


@pytest.mark.parametrize(
    ("configs", "offset_ms", "ok"),
    [
        ({}, 3_600_000, True),  # Kafka 4's default: at most an hour into the future
        ({}, 3_600_001, False),
        ({}, -(10**12), True),
        ({"message.timestamp.after.max.ms": "1000"}, 1000, True),
        ({"message.timestamp.after.max.ms": "1000"}, 5000, False),
        ({"message.timestamp.before.max.ms": "1000"}, -5000, False),
        ({"message.timestamp.type": "LogAppendTime"}, 10**9, True),  # replaced anyway
    ],
)
def test_timestamp_bounds(
    manager: LogManager, clock: ManualClock, configs: dict[str, str], offset_ms: int, ok: bool
) -> None:
    manager.create_topic("t", 1, configs)
    log = manager.log("t", 0)
    data = batch(1, ts=clock.now_ms() + offset_ms)
    if ok:
        assert log.append(data).base_offset == 0
    else:
        with pytest.raises(InvalidTimestampError) as info:
            log.append(data)
        assert info.value.code == 32
        assert log.log_end_offset == 0


@pytest.mark.parametrize(
    ("topic_type", "sent_codec", "stored_codec"),
    [
        ("producer", 4, 4),
        ("producer", 0, 0),
        ("gzip", 0, 1),
        ("zstd", 2, 4),
        ("uncompressed", 3, 0),
        ("lz4", 3, 3),
    ],
)
def test_topic_compression_type(
    manager: LogManager, topic_type: str, sent_codec: int, stored_codec: int
) -> None:
    manager.create_topic("t", 1, {"compression.type": topic_type})
    log = manager.log("t", 0)
    log.append(batch(1))
    sent = build_batch(
        [(b"k%d" % i, b"value %d" % i * 5) for i in range(20)],
        codec=sent_codec,
        timestamps=list(range(100, 120)),
        producer_id=42,
        producer_epoch=3,
        base_sequence=7,
    )
    result = log.append(sent)
    assert (result.base_offset, result.last_offset) == (1, 20)
    stored = log.read_batches(1, 1 << 20)
    header = validate_batch(stored)
    assert header.compression == stored_codec
    assert (header.producer_id, header.producer_epoch, header.base_sequence) == (42, 3, 7)
    assert (header.base_offset, header.last_offset_delta, header.max_timestamp) == (1, 19, 119)
    assert [(r.offset, r.timestamp, r.key, r.value) for r in decode_records(stored)] == [
        (1 + i, 100 + i, b"k%d" % i, b"value %d" % i * 5) for i in range(20)
    ]
    if sent_codec == stored_codec:
        assert stored[16:] == sent[16:]  # untouched but for offset and leader epoch


def test_record_errors_name_the_keyless_records(manager: LogManager) -> None:
    """Kafka's per-record refusal (KIP-467): each keyless record by its index in its
    batch, plus a summary listing at most three."""
    manager.create_topic("c", 1, {"cleanup.policy": "compact"})
    log = manager.log("c", 0)
    keys = [b"k", None, b"k", None, None, None]
    data = build_batch([(k, b"v") for k in keys], timestamp=5)
    with pytest.raises(InvalidRecordError) as info:
        log.append(data)
    refusal = info.value
    expected = "Compacted topic cannot accept message without key in topic partition c-0"
    assert refusal.record_errors == tuple((i, expected) for i in (1, 3, 4, 5))  # type: ignore[attr-defined]
    assert str(refusal).startswith(
        "One or more records have been rejected due to 4 record errors in total, and only "
        "showing the first three errors at most: [RecordError(batchIndex=1, message='Compacted"
    )
    assert str(refusal).count("RecordError(") == 3
    assert log.log_end_offset == 0


def test_record_errors_judge_every_timestamp(manager: LogManager, clock: ManualClock) -> None:
    """The lower bound needs every record's stamp: a batch whose first and largest stamps
    are in range can still hold an old record."""
    hour = 3_600_000
    manager.create_topic("t", 1, {"message.timestamp.before.max.ms": str(hour)})
    log = manager.log("t", 0)
    now = clock.now_ms()
    data = build_batch([(b"k", b"v")] * 3, timestamps=[now, now - 2 * hour, now])
    with pytest.raises(InvalidTimestampError) as info:
        log.append(data)
    assert info.value.code == 32
    assert str(info.value) == "One or more records have been rejected due to invalid timestamp"
    assert info.value.record_errors == (  # type: ignore[attr-defined]
        (
            1,
            f"Timestamp {now - 2 * hour} of message with offset 1 is out of range. The "
            f"timestamp should be within [{now - hour}, {now + hour}]",
        ),
    )
    assert log.log_end_offset == 0
    assert log.append(build_batch([(b"k", b"v")] * 2, timestamps=[now, now])).base_offset == 0


def relabel(raw: bytes, codec: int, payload: bytes | None = None) -> bytes:
    """`raw` marked `codec` (and carrying `payload` as its records), CRC made right again,
    as a client with a bug in its compression would send it."""
    data = bytearray(raw[:61] + (raw[61:] if payload is None else payload))
    struct.pack_into(">i", data, 8, len(data) - 12)
    struct.pack_into(">h", data, 21, codec)
    struct.pack_into(">I", data, 17, crc32c(bytes(data[21:])))
    return bytes(data)


def linked_lz4(raw: bytes) -> bytes:
    """An lz4 frame with dependent blocks, which Kafka's consumers cannot read."""
    return relabel(raw, 3, bytes(cramjam.lz4.compress(raw[61:])))


@pytest.mark.parametrize("plain", [True, False])  # the produce fast path, the general one
@pytest.mark.parametrize(
    ("data", "why"),
    [
        (relabel(batch(3), 1), "marked gzip, but"),
        (relabel(batch(3), 3), "marked lz4, but its records do not start an lz4 frame"),
        (relabel(batch(3), 4), "marked zstd, but"),
        (relabel(batch(3), 4, b""), "marked zstd, but"),
        (linked_lz4(batch(3)), "frame descriptor"),
    ],
)
def test_a_stream_that_is_not_its_codec_s_writes_nothing(
    manager: LogManager, data: bytes, why: str, plain: bool
) -> None:
    """Kafka decompresses what it is sent and fails such a batch (UNKNOWN_SERVER_ERROR);
    stored, it would break every consumer that reaches it."""
    manager.create_topic("t", 1, {} if plain else {"message.timestamp.type": "LogAppendTime"})
    log = manager.log("t", 0)
    log.append(batch(1))
    with pytest.raises(UndecodableStreamError, match=why) as info:
        log.append(data)
    assert info.value.code == -1
    assert (log.log_end_offset, log.size_bytes) == (1, len(batch(1)))
    for codec in (1, 2, 3, 4):  # what clients really send still goes in
        log.append(build_batch([(b"k", b"v" * 50)] * 3, codec=codec))
    assert log.log_end_offset == 13
