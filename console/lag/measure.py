"""Measuring consumer lag: gathering a group's figures through the gateway, then the
arithmetic.

Owns `group_lag` and `all_groups_lag` (what the group pages, the overview and the lag
sampler show): describe, committed offsets and log ends for every group at once, one
peek per round for lag in time, then `console.lag.arithmetic`; and the same for share
groups (`share_lag`, `all_share_groups_lag`), whose start offsets stand for commits. It must never change a
group and reaches clusters only through `console.kafka`.
"""

from __future__ import annotations

import time

from console.kafka import groups, offsets, records, shares
from console.kafka.config import ClusterConfig
from console.lag.arithmetic import (
    GroupLag,
    behind,
    partitions_of,
    peek_rounds,
    share_group_lag,
    share_partitions_of,
    share_waiting_from,
)
from console.lag.arithmetic import group_lag as _lag


def _now() -> int:
    return int(time.time() * 1000)


def group_lag(
    cluster: ClusterConfig,
    group_id: str,
    *,
    now_ms: int | None = None,
    with_time: bool = True,
) -> GroupLag:
    """Members, and per partition committed offset, log end, lag in messages and in time.

    Partitions appear if the group committed an offset for them or a member is assigned
    them (an assigned partition without a commit shows lag unknown).
    """
    desc = groups.describe_group(cluster, group_id)
    committed = groups.committed_offsets(cluster, [group_id])[group_id]
    tps = partitions_of(desc, committed)
    ends = offsets.lookup(cluster, tps, offsets.LATEST, what="log end", partial=True)
    late = behind(committed, ends)
    stamps = records.record_timestamps(cluster, late) if with_time and late else {}
    return _lag(desc, committed, ends, stamps, now_ms if now_ms is not None else _now())


def all_groups_lag(
    cluster: ClusterConfig, *, now_ms: int | None = None, with_time: bool = True
) -> list[GroupLag]:
    """Lag of every group, with one describe, one end-offsets and one peek for them all."""
    ids = [g.group_id for g in groups.list_groups(cluster)]
    if not ids:
        return []
    descs = groups.describe_groups(cluster, ids)
    committed = groups.committed_offsets(cluster, ids)
    every: set[tuple[str, int]] = set()
    for g in ids:
        every |= set(partitions_of(descs[g], committed[g]))
    ends = offsets.lookup(cluster, every, offsets.LATEST, what="log end", partial=True)
    stamps: dict[tuple[str, int], dict[int, int | None]] = {}
    if with_time:
        for at in peek_rounds(committed, ends):
            for tp, ts in records.record_timestamps(cluster, at).items():
                stamps.setdefault(tp, {})[at[tp]] = ts
    now = now_ms if now_ms is not None else _now()
    return [
        _lag(
            descs[g],
            committed[g],
            ends,
            {tp: stamps.get(tp, {}).get(o) for tp, o in behind(committed[g], ends).items()},
            now,
        )
        for g in ids
    ]


def share_lag(
    cluster: ClusterConfig,
    group_ids: list[str],
    *,
    now_ms: int | None = None,
    with_time: bool = True,
) -> list[GroupLag]:
    """Records waiting and the age of the oldest unacknowledged record, per share-partition
    of each share group: one describe, one end-offsets lookup and one peek for them all."""
    if not group_ids:
        return []
    states = shares.describe(cluster, group_ids)
    every: set[tuple[str, int]] = set()
    for s in states.values():
        every |= set(share_partitions_of(s.description, s.starts))
    ends = offsets.lookup(cluster, every, offsets.LATEST, what="log end", partial=True)
    starts = {g: share_waiting_from(s.starts, ends) for g, s in states.items()}
    stamps: dict[tuple[str, int], dict[int, int | None]] = {}
    if with_time:
        for at in peek_rounds(starts, ends):
            for tp, ts in records.record_timestamps(cluster, at).items():
                stamps.setdefault(tp, {})[at[tp]] = ts
    now = now_ms if now_ms is not None else _now()
    return [
        share_group_lag(
            s.description,
            s.starts,
            ends,
            {tp: stamps.get(tp, {}).get(o) for tp, o in starts[g].items()},
            now,
        )
        for g, s in states.items()
    ]


def all_share_groups_lag(
    cluster: ClusterConfig, *, now_ms: int | None = None, with_time: bool = True
) -> list[GroupLag]:
    ids = [g.group_id for g in groups.list_share_groups(cluster)]
    return share_lag(cluster, ids, now_ms=now_ms, with_time=with_time)
