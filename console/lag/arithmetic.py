"""Lag arithmetic: where a group stands on each partition, in messages and in time.

Owns `PartitionLag` and `GroupLag` and how they follow from a group's description, its
committed offsets, the log ends and the timestamps of the first unread records, plus
which records must be peeked for lag in time. It must never read a cluster: the caller
(`console.lag.measure`) gathers the figures first.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.kafka.model import TP, GroupDescription, Member


@dataclass(frozen=True)
class PartitionLag:
    """Where a group stands on one partition; `None` means "unknown / not committed"."""

    topic: str
    partition: int
    committed: int | None
    end: int
    lag: int | None
    lag_ms: int | None
    member: Member | None = None


@dataclass
class GroupLag:
    description: GroupDescription
    partitions: list[PartitionLag]
    measured_at_ms: int

    @property
    def total_lag(self) -> int:
        return sum(p.lag or 0 for p in self.partitions)

    @property
    def max_lag_ms(self) -> int | None:
        values = [p.lag_ms for p in self.partitions if p.lag_ms is not None]
        return max(values) if values else None

    @property
    def topics(self) -> list[str]:
        return sorted({p.topic for p in self.partitions})


def partitions_of(desc: GroupDescription, committed: dict[TP, int]) -> list[TP]:
    """A group's partitions: committed to, or assigned to a member (maybe not committed)."""
    return sorted(set(committed) | {tp for m in desc.members for tp in m.assignment})


def behind(committed: dict[TP, int], ends: dict[TP, int]) -> dict[TP, int]:
    """The first unread offset of each partition where the group has something to read."""
    return {tp: c for tp, c in committed.items() if ends.get(tp, -1) > c}


def peek_rounds(committed: dict[str, dict[TP, int]], ends: dict[TP, int]) -> list[dict[TP, int]]:
    """The first unread records of many groups, in rounds that hold each partition once.

    Groups on the same partition may sit at different offsets; one peek per round reads
    them all with as few consumers as possible.
    """
    wanted: dict[TP, set[int]] = {}
    for group_offsets in committed.values():
        for tp, offset in behind(group_offsets, ends).items():
            wanted.setdefault(tp, set()).add(offset)
    rounds: list[dict[TP, int]] = []
    for tp, distinct in wanted.items():
        for i, offset in enumerate(sorted(distinct)):
            if i == len(rounds):
                rounds.append({})
            rounds[i][tp] = offset
    return rounds


def group_lag(
    desc: GroupDescription,
    committed: dict[TP, int],
    ends: dict[TP, int],
    stamps: dict[TP, int | None],
    now_ms: int,
) -> GroupLag:
    """Per partition: committed offset, log end, lag in messages and in time."""
    owner = {tp: m for m in desc.members for tp in m.assignment}
    rows = []
    for tp in partitions_of(desc, committed):
        c = committed.get(tp)
        # -1: the broker gave no log end (the topic was deleted since the group read it).
        end = ends.get(tp, -1)
        lag = max(0, end - c) if c is not None and end >= 0 else None
        stamp = stamps.get(tp)
        if lag == 0:
            lag_ms: int | None = 0
        elif stamp is not None:
            lag_ms = max(0, now_ms - stamp)
        else:
            lag_ms = None
        rows.append(PartitionLag(tp[0], tp[1], c, end, lag, lag_ms, owner.get(tp)))
    return GroupLag(description=desc, partitions=rows, measured_at_ms=now_ms)
