"""Server-side partition assignors for KIP-848 consumer groups: "uniform" and "range".

Owns the pure function from (members' subscriptions, topics' partition counts) to a target
assignment. It must never look at who owns what right now (reconciliation is
`groups/consumer.py`'s job) and never await or read a clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

# topic id -> set of partitions
Assignment = dict[uuid.UUID, set[int]]
ASSIGNORS = ("uniform", "range")


def assign(
    name: str,
    subscriptions: Mapping[str, Sequence[uuid.UUID]],
    partitions: Mapping[uuid.UUID, int],
) -> dict[str, Assignment]:
    """Target assignment for every member (member id -> topic id -> partitions)."""
    if name == "range":
        return range_assign(subscriptions, partitions)
    return uniform_assign(subscriptions, partitions)


def range_assign(
    subscriptions: Mapping[str, Sequence[uuid.UUID]], partitions: Mapping[uuid.UUID, int]
) -> dict[str, Assignment]:
    """Per topic, contiguous ranges split as evenly as possible among its subscribers."""
    out: dict[str, Assignment] = {m: {} for m in subscriptions}
    for topic in sorted({t for ts in subscriptions.values() for t in ts}, key=str):
        count = partitions.get(topic, 0)
        members = sorted(m for m, ts in subscriptions.items() if topic in ts)
        if not count or not members:
            continue
        per, extra = divmod(count, len(members))
        start = 0
        for i, member in enumerate(members):
            n = per + (1 if i < extra else 0)
            if n:
                out[member][topic] = set(range(start, start + n))
            start += n
    return out


def uniform_assign(
    subscriptions: Mapping[str, Sequence[uuid.UUID]], partitions: Mapping[uuid.UUID, int]
) -> dict[str, Assignment]:
    """Every subscribed partition dealt round-robin, so member loads differ by at most one
    when subscriptions are the same."""
    out: dict[str, Assignment] = {m: {} for m in subscriptions}
    load = dict.fromkeys(subscriptions, 0)
    for topic in sorted({t for ts in subscriptions.values() for t in ts}, key=str):
        members = sorted(m for m, ts in subscriptions.items() if topic in ts)
        for p in range(partitions.get(topic, 0)):
            if not members:
                break
            # least-loaded subscriber first, ties by member id (deterministic)
            member = min(members, key=lambda m: (load[m], m))
            out[member].setdefault(topic, set()).add(p)
            load[member] += 1
    return out
