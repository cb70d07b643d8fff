"""Lag arithmetic: where a group stands on each partition, in messages and in time.

Owns `PartitionLag` and `GroupLag` and how they follow from a group's description, its
committed offsets, the log ends and the timestamps of the first unread records, plus
which records must be peeked for lag in time. It must never read a cluster: the caller
(`console.lag.measure`) gathers the figures first.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.kafka.model import TP, GroupDescription, Member, ShareStart


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

    @property
    def is_share(self) -> bool:
        return self.description.type == "SHARE"

    @property
    def done_sum(self) -> int:
        """Records the group is through with, summed: committed offsets for a consumer
        group; for a share group the records before the log end that wait no more
        (acknowledged or archived), whose growth is its acknowledgement rate."""
        if self.is_share:
            return sum(max(p.end, 0) - p.lag for p in self.partitions if p.lag is not None)
        return sum(p.committed or 0 for p in self.partitions)


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


def share_partitions_of(desc: GroupDescription, starts: dict[TP, ShareStart]) -> list[TP]:
    """A share group's partitions: with share-partition state, or assigned to a member."""
    return sorted(set(starts) | {tp for m in desc.members for tp in m.assignment})


def share_waiting_from(starts: dict[TP, ShareStart], ends: dict[TP, int]) -> dict[TP, int]:
    """The start offset (SPSO) of each share-partition with records waiting: the record
    there is the oldest one not yet acknowledged."""
    return {
        tp: s.start
        for tp, s in starts.items()
        if s.start is not None and ends.get(tp, -1) > s.start and s.lag != 0
    }


def share_group_lag(
    desc: GroupDescription,
    starts: dict[TP, ShareStart],
    ends: dict[TP, int],
    stamps: dict[TP, int | None],
    now_ms: int,
) -> GroupLag:
    """Per share-partition: start offset (as `committed`), log end, records waiting (the
    coordinator's lag, or end - SPSO from a broker that reports none) and the age of the
    oldest record not yet acknowledged."""
    rows = []
    for tp in share_partitions_of(desc, starts):
        found = starts.get(tp)
        start = found.start if found else None
        end = ends.get(tp, -1)
        lag = found.lag if found else None
        if lag is None and start is not None and end >= 0:
            lag = max(0, end - start)
        stamp = stamps.get(tp)
        lag_ms: int | None = None
        if lag == 0:
            lag_ms = 0
        elif stamp is not None:
            lag_ms = max(0, now_ms - stamp)
        rows.append(PartitionLag(tp[0], tp[1], start, end, lag, lag_ms))
    return GroupLag(description=desc, partitions=rows, measured_at_ms=now_ms)
