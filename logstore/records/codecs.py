"""Compression codecs of RecordBatch v2 (attribute bits 0-2), via cramjam.

Owns the mapping codec id -> compress/decompress, including snappy's two framings. It must
never be called on the produce or fetch hot path: only where records must be read
(compaction, the console's browser, compacted-key validation).
"""

from __future__ import annotations

import struct

import cramjam

from logstore.records.errors import CorruptRecordError

NONE, GZIP, SNAPPY, LZ4, ZSTD = 0, 1, 2, 3, 4
CODEC_NAMES = {NONE: "none", GZIP: "gzip", SNAPPY: "snappy", LZ4: "lz4", ZSTD: "zstd"}

# Java clients wrap snappy in xerial's stream framing: magic, version, compat version, then
# blocks of [int32 length][raw snappy]; librdkafka may send either framing.
XERIAL_MAGIC = b"\x82SNAPPY\x00"
_XERIAL_HEADER_SIZE = 16
_INT32 = struct.Struct(">i")

Buffer = bytes | bytearray | memoryview


def _xerial_decompress(data: memoryview) -> bytes:
    out = []
    pos = _XERIAL_HEADER_SIZE
    while pos < len(data):
        if len(data) - pos < 4:
            raise CorruptRecordError("truncated xerial snappy block length")
        (size,) = _INT32.unpack_from(data, pos)
        pos += 4
        if size < 0 or pos + size > len(data):
            raise CorruptRecordError("truncated xerial snappy block")
        out.append(bytes(cramjam.snappy.decompress_raw(data[pos : pos + size])))
        pos += size
    return b"".join(out)


def decompress(codec: int, data: Buffer) -> bytes:
    """Decompress a batch body; CorruptRecordError if the bytes do not decode."""
    view = memoryview(data)
    try:
        if codec == NONE:
            return bytes(view)
        if codec == GZIP:
            return bytes(cramjam.gzip.decompress(view))
        if codec == SNAPPY:
            if bytes(view[:8]) == XERIAL_MAGIC:
                return _xerial_decompress(view)
            return bytes(cramjam.snappy.decompress_raw(view))
        if codec == LZ4:
            return bytes(cramjam.lz4.decompress(view))
        if codec == ZSTD:
            return bytes(cramjam.zstd.decompress(view))
    except CorruptRecordError:
        raise
    except Exception as exc:  # cramjam raises its own DecompressionError / ValueError
        raise CorruptRecordError(f"cannot decompress {CODEC_NAMES[codec]} batch: {exc}") from exc
    raise CorruptRecordError(f"unknown compression codec {codec}")


def _lz4_frame(data: Buffer, level: int | None) -> bytes:
    # Kafka's Java LZ4 reader refuses linked blocks ("Dependent block stream is
    # unsupported"), and cramjam links them by default.
    compressor = cramjam.lz4.Compressor(level=level, content_checksum=False, block_linked=False)
    compressor.compress(bytes(data))
    return bytes(compressor.finish())


def compress(codec: int, data: Buffer, level: int | None = None) -> bytes:
    """Compress a batch body (raw snappy, lz4 frame) as librdkafka does.

    `level` is the topic's `compression.<codec>.level` (gzip 1-9, lz4 1-17, zstd up to
    22); None keeps cramjam's default. Snappy has no levels.
    """
    if codec == NONE:
        return bytes(data)
    if codec == GZIP:
        return bytes(cramjam.gzip.compress(data, level=level))
    if codec == SNAPPY:
        return bytes(cramjam.snappy.compress_raw(data))
    if codec == LZ4:
        return _lz4_frame(data, level)
    if codec == ZSTD:
        return bytes(cramjam.zstd.compress(data, level=level))
    raise ValueError(f"unknown compression codec {codec}")


def xerial_compress(data: Buffer, block_size: int = 32 * 1024) -> bytes:
    """Snappy in xerial framing, as the Java client writes it (for tests and interop)."""
    view = memoryview(data)
    parts = [XERIAL_MAGIC, _INT32.pack(1), _INT32.pack(1)]
    for pos in range(0, len(view), block_size):
        block = bytes(cramjam.snappy.compress_raw(view[pos : pos + block_size]))
        parts.append(_INT32.pack(len(block)))
        parts.append(block)
    return b"".join(parts)
