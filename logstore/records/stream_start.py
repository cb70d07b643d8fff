"""Whether a compressed batch's records start the way its codec's stream must start.

Kafka decompresses every batch it is sent and fails a produce whose stream does not
decode (UNKNOWN_SERVER_ERROR); Odradek never decompresses on the produce path, so a batch
marked gzip, lz4 or zstd whose bytes are something else would be stored and break every
consumer that reaches it. Its first bytes tell that cheaply: gzip's magic and deflate
method, zstd's frame magic, and the lz4 frame descriptor Kafka's consumers can read
(magic, version 1, independent blocks, a 64 KiB–4 MiB block size). Snappy has no magic
(Kafka takes raw snappy as well as xerial's framing), so it is not judged.

Owns only this look at a few leading bytes. It must never decompress, nor read past the
descriptor.
"""

from __future__ import annotations

GZIP, LZ4, ZSTD = 1, 3, 4
_GZIP_START = b"\x1f\x8b\x08"
_ZSTD_START = b"\x28\xb5\x2f\xfd"
_LZ4_START = b"\x04\x22\x4d\x18"


def stream_problem(view: memoryview, start: int, codec: int) -> str | None:
    """Why the records at `start` cannot be a `codec` stream, or None if they may be."""
    if codec == GZIP:
        if view[start : start + 3] != _GZIP_START:
            return "marked gzip, but its records do not start a gzip stream"
    elif codec == ZSTD:
        if view[start : start + 4] != _ZSTD_START:
            return "marked zstd, but its records do not start a zstd frame"
    elif codec == LZ4:
        if view[start : start + 4] != _LZ4_START or len(view) < start + 6:
            return "marked lz4, but its records do not start an lz4 frame"
        flags, block = view[start + 4], view[start + 5]
        # Kafka's reader: version 01, reserved bits clear, independent blocks; block
        # size code 4-7 with its reserved bits clear.
        if flags & 0xE3 != 0x60 or block & 0x8F or not 4 <= block >> 4 <= 7:
            return "marked lz4, but its frame descriptor is one Kafka's consumers cannot read"
    return None
