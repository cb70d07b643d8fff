"""Hand-written encoders for the answers that describe every partition at once:
ListOffsets (v1–7), DescribeLogDirs (v1–4) and DescribeConfigs (v1–4).

A console page asks these about thousands of partitions. Through kio each partition
becomes a typed object whose fields are checked and then serialized one by one, ~10 µs a
partition, most of the broker's time for such a page; here each row is one precompiled
`struct` pack. `tests/logstore/protocol/test_admin_replies.py` checks the bytes against
kio for every version. It must never do I/O nor decide a value: handlers pass plain rows.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from logstore.protocol.primitives import frame, length, nullable, string

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")

# (partition, error, timestamp, offset[, leader epoch][, empty tags])
_LIST_OFFSETS_ROW = {
    1: struct.Struct(">ihqq"),
    4: struct.Struct(">ihqqi"),
    6: struct.Struct(">ihqqiB"),
}
# (partition, size, offset lag, is future[, empty tags])
_LOG_DIR_ROW = {1: struct.Struct(">iqq?"), 2: struct.Struct(">iqq?B")}

ListOffsetsRow = tuple[int, int, int, int, int]  # partition, error, timestamp, offset, epoch
LogDirRow = tuple[int, int]  # partition, size in bytes
# name, value, read only, source, sensitive, synonyms (name, value, source), config type
ConfigRow = tuple[str, str | None, bool, int, bool, Sequence[tuple[str, str | None, int]], int]
# error, error message, resource type, resource name, entries
ConfigResult = tuple[int, str | None, int, str, Sequence[ConfigRow]]


def list_offsets_frame(
    version: int, correlation_id: int, topics: Sequence[tuple[str, Sequence[ListOffsetsRow]]]
) -> bytes:
    """A complete ListOffsets response frame (length prefix included)."""
    if not 1 <= version <= 7:
        raise ValueError(f"ListOffsets v{version} is not encoded here")
    flexible = version >= 6
    row = _LIST_OFFSETS_ROW[6 if flexible else 4 if version >= 4 else 1]
    out: list[bytes] = []
    if version >= 2:
        out.append(_I32.pack(0))  # throttle time
    out.append(length(len(topics), flexible))
    for name, rows in topics:
        out.append(string(name, flexible))
        out.append(length(len(rows), flexible))
        if flexible:
            out += [row.pack(*r, 0) for r in rows]
            out.append(b"\x00")
        elif version >= 4:
            out += [row.pack(*r) for r in rows]
        else:
            out += [row.pack(*r[:4]) for r in rows]
    if flexible:
        out.append(b"\x00")
    return frame(correlation_id, flexible, out)


def describe_log_dirs_frame(
    version: int,
    correlation_id: int,
    log_dir: str,
    topics: Sequence[tuple[str, Sequence[LogDirRow]]],
    total_bytes: int,
    usable_bytes: int,
    error_code: int = 0,
) -> bytes:
    """A DescribeLogDirs response frame for one healthy log dir (offset lag 0, no futures);
    with `error_code` (a refusal), no log dir at all, the code at the top from v3."""
    if not 1 <= version <= 4:
        raise ValueError(f"DescribeLogDirs v{version} is not encoded here")
    flexible = version >= 2
    row = _LOG_DIR_ROW[2 if flexible else 1]
    out = [_I32.pack(0)]  # throttle time
    if version >= 3:
        out.append(_I16.pack(error_code))
    if error_code:
        out.append(length(0, flexible))
        if flexible:
            out.append(b"\x00")
        return frame(correlation_id, flexible, out)
    out += [length(1, flexible), _I16.pack(0), string(log_dir, flexible)]
    out.append(length(len(topics), flexible))
    for name, rows in topics:
        out.append(string(name, flexible))
        out.append(length(len(rows), flexible))
        if flexible:
            out += [row.pack(p, size, 0, False, 0) for p, size in rows]
            out.append(b"\x00")
        else:
            out += [row.pack(p, size, 0, False) for p, size in rows]
    if version >= 4:
        out.append(struct.pack(">qq", total_bytes, usable_bytes))
    if flexible:
        out.append(b"\x00\x00")  # the result's tags, then the response's
    return frame(correlation_id, flexible, out)


def describe_configs_frame(
    version: int, correlation_id: int, results: Sequence[ConfigResult]
) -> bytes:
    """A DescribeConfigs response frame; documentation is always null."""
    if not 1 <= version <= 4:
        raise ValueError(f"DescribeConfigs v{version} is not encoded here")
    flexible = version >= 4
    tag = [b"\x00"] if flexible else []
    out = [_I32.pack(0), length(len(results), flexible)]
    for error, message, rtype, rname, entries in results:
        out += [
            _I16.pack(error),
            nullable(message, flexible),
            bytes((rtype & 0xFF,)),
            string(rname, flexible),
            length(len(entries), flexible),
        ]
        for name, value, read_only, source, sensitive, synonyms, ctype in entries:
            out += [
                string(name, flexible),
                nullable(value, flexible),
                struct.pack(">?b?", read_only, source, sensitive),
                length(len(synonyms), flexible),
            ]
            for sname, svalue, ssource in synonyms:
                out += [string(sname, flexible), nullable(svalue, flexible)]
                out.append(struct.pack(">b", ssource))
                out += tag
            if version >= 3:
                out += [struct.pack(">b", ctype), nullable(None, flexible)]
            out += tag
        out += tag
    out += tag
    return frame(correlation_id, flexible, out)
