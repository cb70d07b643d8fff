"""Compression codecs: round trips, both snappy framings, and damaged input."""

from __future__ import annotations

import pytest

from logstore.records import (
    GZIP,
    LZ4,
    NONE,
    SNAPPY,
    ZSTD,
    CorruptRecordError,
    build_batch,
    compress,
    decode_records,
    decompress,
    validate_batch,
    xerial_compress,
)

PAYLOAD = b"odradek " * 5000


@pytest.mark.parametrize("codec", [NONE, GZIP, SNAPPY, LZ4, ZSTD])
def test_round_trip(codec: int) -> None:
    assert decompress(codec, compress(codec, PAYLOAD)) == PAYLOAD


def test_snappy_accepts_xerial_framing() -> None:
    framed = xerial_compress(PAYLOAD, block_size=4096)
    assert framed.startswith(b"\x82SNAPPY\x00")
    assert decompress(SNAPPY, framed) == PAYLOAD


@pytest.mark.parametrize("codec", [GZIP, SNAPPY, LZ4, ZSTD])
def test_garbage_is_corrupt(codec: int) -> None:
    with pytest.raises(CorruptRecordError):
        decompress(codec, b"definitely not compressed data")


@pytest.mark.parametrize("codec", [GZIP, SNAPPY, LZ4, ZSTD])
def test_compressed_batches_decode(codec: int) -> None:
    raw = build_batch([(b"k%d" % i, b"v" * i) for i in range(50)], codec=codec, timestamp=1)
    header = validate_batch(raw)
    assert header.compression == codec
    records = decode_records(raw)
    assert [r.value for r in records] == [b"v" * i for i in range(50)]


def test_lz4_frames_use_independent_blocks_as_kafka_requires() -> None:
    frame = compress(LZ4, PAYLOAD)
    assert frame[:4] == b"\x04\x22\x4d\x18"  # LZ4 frame magic
    flags = frame[4]
    assert flags >> 6 == 1  # frame format version 01
    assert flags & 0x20  # block independence: Kafka's Java reader refuses linked blocks
