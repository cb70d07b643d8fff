"""Share-partition state as Kafka's share coordinator persists it, read back for the
console: decoding `__share_group_state` records, replaying them, and summing up records
in flight per share-partition.

Kafka's share coordinator writes two record types to that internal topic (cleanup policy
"delete", pruned below the latest snapshot): a ShareSnapshot (key type 0) with the
share-partition start offset (SPSO) and every persisted state span, and ShareUpdates (key
type 1) whose spans overlay the state so far. Keys are (group id, topic id, partition),
non-flexible after an int16 record type; values are flexible after an int16 version
(only version 0 is known; other versions are skipped and counted). Spans are persisted
as available (0, with the delivery count so far), acknowledged (2) or archived (4); a
record currently acquired by a consumer is persisted only when it is acknowledged,
released or its lock lapses, so "acquired" cannot be told apart from "not yet delivered".

It owns the bytes and the arithmetic only and must never talk to a cluster; every length
is checked against the bytes left before anything is allocated.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

SNAPSHOT, UPDATE = 0, 1
AVAILABLE, ACKNOWLEDGED, ARCHIVED = 0, 2, 4
STATE_NAMES = {AVAILABLE: "available", ACKNOWLEDGED: "acknowledged", ARCHIVED: "archived"}
KNOWN_VERSION = 0


class Unreadable(ValueError):
    """Bytes that are not a share-state record this module knows."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise Unreadable("the record ends early")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def number(self, fmt: str) -> int:
        value: int = struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]
        return value

    def varint(self) -> int:
        shift = value = 0
        while True:
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
            if shift > 28:
                raise Unreadable("a length is too long")

    def string(self) -> str:
        return self.take(self.number(">h")).decode("utf-8", "replace")

    def skip_tags(self) -> None:
        for _ in range(self.varint()):
            self.varint()
            self.take(self.varint())


@dataclass(frozen=True)
class Span:
    """Offsets first..last (inclusive) persisted in one state with one delivery count."""

    first: int
    last: int
    state: int
    deliveries: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1


@dataclass
class Persisted:
    """One share-partition's persisted state: its start offset and state spans."""

    start: int = -1
    spans: list[Span] = field(default_factory=list)


Key = tuple[str, uuid.UUID, int]


def decode_key(data: bytes) -> tuple[int, Key]:
    """(record type, (group id, topic id, partition)); Unreadable for other record types."""
    r = _Reader(data)
    kind = r.number(">h")
    if kind not in (SNAPSHOT, UPDATE):
        raise Unreadable(f"record type {kind} is not a share snapshot or update")
    group = r.string()
    topic_id = uuid.UUID(bytes=r.take(16))
    return kind, (group, topic_id, r.number(">i"))


def decode_value(kind: int, data: bytes) -> tuple[int, list[Span]]:
    """(start offset, spans) of a snapshot or update value; -1: the update keeps the SPSO."""
    r = _Reader(data)
    version = r.number(">h")
    if version != KNOWN_VERSION:
        raise Unreadable(f"value version {version} is not known")
    r.take(4)  # snapshot epoch
    if kind == SNAPSHOT:
        r.take(4)  # state epoch
    r.take(4)  # leader epoch
    start = r.number(">q")
    if kind == SNAPSHOT:
        r.take(16)  # create and write timestamps
    count = r.varint() - 1
    if count < 0 or count * 20 > len(data) - r.pos:
        raise Unreadable("the state spans are cut short")
    spans = []
    for _ in range(count):
        first, last, state, deliveries = (
            r.number(">q"),
            r.number(">q"),
            r.number(">b"),
            r.number(">h"),
        )
        r.skip_tags()
        if last < first:
            raise Unreadable("a state span ends before it starts")
        spans.append(Span(first, last, state, deliveries))
    r.skip_tags()
    return start, spans


def overlay(current: list[Span], new: list[Span]) -> list[Span]:
    """`current` with every offset `new` covers replaced by `new`'s state."""
    out = []
    for old in current:
        pieces = [old]
        for n in new:
            cut = []
            for p in pieces:
                if n.last < p.first or n.first > p.last:
                    cut.append(p)
                    continue
                if p.first < n.first:
                    cut.append(Span(p.first, n.first - 1, p.state, p.deliveries))
                if p.last > n.last:
                    cut.append(Span(n.last + 1, p.last, p.state, p.deliveries))
            pieces = cut
        out += pieces
    return sorted(out + new, key=lambda s: s.first)


def _from(start: int, spans: list[Span]) -> list[Span]:
    """Spans at or after `start` (the records before it are done and forgotten)."""
    out = []
    for s in spans:
        if s.last < start:
            continue
        out.append(s if s.first >= start else Span(start, s.last, s.state, s.deliveries))
    return out


@dataclass
class Replay:
    partitions: dict[tuple[uuid.UUID, int], Persisted] = field(default_factory=dict)
    unreadable: int = 0


def replay(records: Iterable[tuple[bytes | None, bytes | None]], group: str) -> Replay:
    """`group`'s share-partitions after the records, in log order, of one topic partition
    (a share-partition's records all go to the same one): the latest snapshot, then the
    updates after it."""
    out = Replay()
    for key, value in records:
        if key is None or value is None:
            continue
        try:
            kind, (g, topic_id, partition) = decode_key(key)
            if g != group:
                continue
            start, spans = decode_value(kind, value)
        except Unreadable:
            out.unreadable += 1
            continue
        state = out.partitions.setdefault((topic_id, partition), Persisted())
        if kind == SNAPSHOT:
            state.start, state.spans = start, _from(start, spans)
            continue
        if start >= 0:
            state.start = start
        state.spans = _from(state.start, overlay(state.spans, spans))
    return out


@dataclass(frozen=True)
class InFlight:
    """What the persisted state says about one share-partition, from SPSO to the log end.

    `untracked` records have no persisted state: never delivered yet, or acquired by a
    consumer right now (Kafka persists an acquisition only once it ends)."""

    acknowledged: int
    archived: int
    redelivery: int  # available again after a release or a lapsed lock
    untracked: int
    deliveries: dict[int, int]  # delivery count -> records
    archived_spans: list[Span]


def in_flight(state: Persisted, end: int) -> InFlight:
    counts = {AVAILABLE: 0, ACKNOWLEDGED: 0, ARCHIVED: 0}
    deliveries: dict[int, int] = {}
    archived: list[Span] = []
    for s in state.spans:
        if s.first >= end:
            continue
        span = s if s.last < end else Span(s.first, end - 1, s.state, s.deliveries)
        counts[span.state] = counts.get(span.state, 0) + span.size
        if span.deliveries > 0:
            deliveries[span.deliveries] = deliveries.get(span.deliveries, 0) + span.size
        if span.state == ARCHIVED:
            archived.append(span)
    tracked = sum(counts.values())
    return InFlight(
        acknowledged=counts[ACKNOWLEDGED],
        archived=counts[ARCHIVED],
        redelivery=counts[AVAILABLE],
        untracked=max(0, end - max(state.start, 0) - tracked),
        deliveries=dict(sorted(deliveries.items())),
        archived_spans=archived,
    )
