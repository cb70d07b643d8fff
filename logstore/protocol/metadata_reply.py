"""Hand-written Metadata (key 3, v0–12) answers for a single broker that leads everything.

Clients ask for all topics' metadata often (librdkafka every few minutes, the console on
every snapshot); through kio each of thousands of partitions is a typed object checked
and serialized field by field. Here a partition is one precompiled `struct` pack: every
replica list is this broker alone, leader epoch 0, nothing offline.
`tests/logstore/protocol/test_metadata_reply.py` checks the bytes against kio for every
version. It must never look anything up: the handler passes plain rows.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Sequence

from logstore.protocol.primitives import frame, length, nullable, string

_I32 = struct.Struct(">i")
_NO_OPS = -(2**31)  # "authorized operations not requested"

# error, name (None: unknown topic id, v12), topic id, internal, partition errors by index
MetadataTopic = tuple[int, str | None, uuid.UUID, bool, Sequence[int]]


# A partition row: error, index, leader, then what `_fill` supplies.
_PARTITION_ROW = {
    9: struct.Struct(">hiiiBiBiBB"),  # epoch, [node], [node], [], tags (compact arrays)
    7: struct.Struct(">hiiiiiiii"),  # epoch, [node], [node], []
    5: struct.Struct(">hiiiiiii"),  # [node], [node], []
    0: struct.Struct(">hiiiiii"),  # [node], [node]
}


def metadata_frame(
    version: int,
    correlation_id: int,
    *,
    node_id: int,
    host: str,
    port: int,
    cluster_id: str,
    topics: Sequence[MetadataTopic],
) -> bytes:
    """A complete Metadata response frame (length prefix included)."""
    if not 0 <= version <= 12:
        raise ValueError(f"Metadata v{version} is not encoded here")
    flexible = version >= 9
    tags = b"\x00" if flexible else b""
    out: list[bytes] = []
    if version >= 3:
        out.append(_I32.pack(0))  # throttle time
    out += [length(1, flexible), _I32.pack(node_id), string(host, flexible), _I32.pack(port)]
    if version >= 1:
        out.append(nullable(None, flexible))  # rack
    out.append(tags)
    if version >= 2:
        out.append(nullable(cluster_id, flexible))
    if version >= 1:
        out.append(_I32.pack(node_id))  # controller
    row = _PARTITION_ROW[9 if flexible else 7 if version >= 7 else 5 if version >= 5 else 0]
    fill = _fill(version, node_id)
    out.append(length(len(topics), flexible))
    for error, name, topic_id, internal, partition_errors in topics:
        out.append(struct.pack(">h", error))
        if version >= 12:
            out.append(nullable(name, flexible))
        else:
            out.append(string(name or "", flexible))
        if version >= 10:
            out.append(topic_id.bytes)
        if version >= 1:
            out.append(b"\x01" if internal else b"\x00")
        out.append(length(len(partition_errors), flexible))
        out += [row.pack(e, i, node_id, *fill) for i, e in enumerate(partition_errors)]
        if version >= 8:
            out.append(_I32.pack(_NO_OPS))
        out.append(tags)
    if 8 <= version <= 10:
        out.append(_I32.pack(_NO_OPS))  # cluster authorized operations
    out.append(tags)
    return frame(correlation_id, flexible, out)


def _fill(version: int, node: int) -> tuple[int, ...]:
    """The fields after (error, index, leader) with the node id in each replica list."""
    if version >= 9:  # epoch, len, node, len, node, offline len, tags
        return (0, 2, node, 2, node, 1, 0)
    if version >= 7:  # epoch, len, node, len, node, offline len
        return (0, 1, node, 1, node, 0)
    if version >= 5:  # len, node, len, node, offline len
        return (1, node, 1, node, 0)
    return (1, node, 1, node)
