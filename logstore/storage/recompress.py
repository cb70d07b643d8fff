"""Topic-level `compression.type`: re-encode batches whose codec differs from the topic's.

With the default `producer` nothing happens and batches are stored byte for byte. With
`uncompressed`, `gzip`, `snappy`, `lz4` or `zstd`, a batch in another codec is decoded and
re-encoded with the same base offset, offset deltas, timestamps and producer fields, as
Kafka's broker does. Control batches are never touched.

Owns only that rewrite. It must never run for topics using `producer` (the hot path stays
free of record work) and never change offsets or producer fields. The topic's
`compression.<codec>.level` is used for the new encoding.
"""

from __future__ import annotations

from logstore.records import BatchHeader, decode_records, parse_header, rebuild_batch


def recompress(
    view: memoryview,
    headers: list[tuple[int, BatchHeader]],
    codec: int,
    level: int | None = None,
) -> tuple[memoryview, list[tuple[int, BatchHeader]]]:
    """The batches in `codec` (a new buffer only if something changed), with new headers."""
    if all(h.is_control or h.compression == codec for _, h in headers):
        return view, headers
    parts: list[bytes | memoryview] = []
    for pos, header in headers:
        batch = view[pos : pos + header.size]
        if header.is_control or header.compression == codec:
            parts.append(batch)
            continue
        parts.append(rebuild_batch(header, decode_records(batch), codec=codec, level=level))
    data = memoryview(b"".join(parts))
    out: list[tuple[int, BatchHeader]] = []
    pos = 0
    while pos < len(data):
        header = parse_header(data, pos)
        out.append((pos, header))
        pos += header.size
    return data, out
