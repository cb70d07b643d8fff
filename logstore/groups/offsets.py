"""Committed offsets: the in-memory table and its records in `__consumer_offsets`.

Owns the committed-offset table ((group, topic, partition) -> offset, leader epoch,
metadata, commit time, and the offset of the record that wrote it, which decides between a
transaction's offsets and a later plain commit) and the key/value encoding of its records, laid out like Kafka's
OffsetCommitKey v1 / OffsetCommitValue v3 so a reader of the internal topic sees familiar
bytes; a null value is a tombstone. Replaying the topic's records in order rebuilds the
table. It must never append or read files itself (the coordinator does, through
`LogManager`), and never await.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

OFFSETS_TOPIC = "__consumer_offsets"
OFFSETS_TOPIC_CONFIGS = {"cleanup.policy": "compact", "segment.bytes": str(100 * 1024 * 1024)}
KEY_VERSION = 1
VALUE_VERSION = 3

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")


@dataclass(frozen=True, slots=True)
class CommittedOffset:
    offset: int
    leader_epoch: int = -1
    metadata: str | None = ""
    commit_timestamp: int = -1


Key = tuple[str, str, int]  # group, topic, partition


def _string(value: str) -> bytes:
    raw = value.encode()
    return _I16.pack(len(raw)) + raw


def _read_string(buf: bytes, pos: int) -> tuple[str | None, int]:
    (n,) = _I16.unpack_from(buf, pos)
    pos += 2
    if n < 0:
        return None, pos
    return buf[pos : pos + n].decode(), pos + n


def encode_key(group: str, topic: str, partition: int) -> bytes:
    return _I16.pack(KEY_VERSION) + _string(group) + _string(topic) + _I32.pack(partition)


def encode_value(value: CommittedOffset) -> bytes:
    meta = value.metadata
    return (
        _I16.pack(VALUE_VERSION)
        + _I64.pack(value.offset)
        + _I32.pack(value.leader_epoch)
        + (_I16.pack(-1) if meta is None else _string(meta))
        + _I64.pack(value.commit_timestamp)
    )


def decode_key(buf: bytes) -> Key | None:
    """The (group, topic, partition) of an offset record; None for other record kinds."""
    (version,) = _I16.unpack_from(buf, 0)
    if version not in (0, 1):
        return None
    group, pos = _read_string(buf, 2)
    topic, pos = _read_string(buf, pos)
    (partition,) = _I32.unpack_from(buf, pos)
    if group is None or topic is None:
        return None
    return group, topic, partition


def decode_value(buf: bytes) -> CommittedOffset:
    (version,) = _I16.unpack_from(buf, 0)
    (offset,) = _I64.unpack_from(buf, 2)
    pos = 10
    leader_epoch = -1
    if version >= 3:
        (leader_epoch,) = _I32.unpack_from(buf, pos)
        pos += 4
    metadata, pos = _read_string(buf, pos)
    (commit_ts,) = _I64.unpack_from(buf, pos)
    return CommittedOffset(offset, leader_epoch, metadata, commit_ts)


class OffsetTable:
    """Committed offsets per group; the single source the handlers read from."""

    def __init__(self) -> None:
        self._groups: dict[str, dict[tuple[str, int], CommittedOffset]] = {}
        self._record_offsets: dict[Key, int] = {}

    def get(self, group: str, topic: str, partition: int) -> CommittedOffset | None:
        return self._groups.get(group, {}).get((topic, partition))

    def group(self, group: str) -> dict[tuple[str, int], CommittedOffset]:
        return dict(self._groups.get(group, {}))

    def groups(self) -> list[str]:
        return list(self._groups)

    def has_group(self, group: str) -> bool:
        return bool(self._groups.get(group))

    def record_offset(self, group: str, topic: str, partition: int) -> int:
        """Where in `__consumer_offsets` the committed offset was written (-1: unknown)."""
        return self._record_offsets.get((group, topic, partition), -1)

    def put(
        self,
        group: str,
        topic: str,
        partition: int,
        value: CommittedOffset | None,
        record_offset: int = -1,
    ) -> None:
        offsets = self._groups.setdefault(group, {})
        if value is None:
            offsets.pop((topic, partition), None)
            self._record_offsets.pop((group, topic, partition), None)
            if not offsets:
                del self._groups[group]
        else:
            offsets[(topic, partition)] = value
            self._record_offsets[(group, topic, partition)] = record_offset

    def forget_topic(self, topic: str) -> list[Key]:
        """Drop every group's offsets of a deleted topic; returns the keys removed."""
        removed = [(g, t, p) for g, offs in self._groups.items() for (t, p) in offs if t == topic]
        for g, t, p in removed:
            self.put(g, t, p, None)
        return removed


def records_for(
    group: str, entries: Iterable[tuple[str, int, CommittedOffset | None]]
) -> Iterator[tuple[bytes, bytes | None]]:
    """The (key, value) records that persist `entries` (None value = tombstone)."""
    for topic, partition, value in entries:
        yield encode_key(group, topic, partition), None if value is None else encode_value(value)
