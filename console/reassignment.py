"""Planning a topic's new replica placement: pure logic, no I/O.

Owns turning "put this topic's copies on these brokers, this many of each partition" into
a replica list per partition, spread round-robin with each partition's leader moved as
little as possible, and the preview a person reads before confirming (which copies are
added, which removed). It must never call a cluster nor judge who may move data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


class PlanError(ValueError):
    """The request cannot be planned; the message says why in plain words."""


@dataclass(frozen=True)
class Move:
    partition: int
    before: tuple[int, ...]
    after: tuple[int, ...]

    @property
    def adding(self) -> tuple[int, ...]:
        return tuple(b for b in self.after if b not in self.before)

    @property
    def removing(self) -> tuple[int, ...]:
        return tuple(b for b in self.before if b not in self.after)

    @property
    def changes(self) -> bool:
        return self.before != self.after


def plan(
    current: Mapping[int, Sequence[int]], brokers: Sequence[int], replication_factor: int
) -> list[Move]:
    """New replica lists for every partition of one topic.

    `current` maps partition to its replicas now, `brokers` are the ones to use. A copy
    already on a chosen broker stays (no data moves for it); the rest are spread so that
    each broker ends up with as even a share as possible.
    """
    chosen = sorted(set(brokers))
    if replication_factor < 1:
        raise PlanError("The replication factor must be at least 1.")
    if replication_factor > len(chosen):
        raise PlanError(
            f"{replication_factor} copies need {replication_factor} brokers; "
            f"{len(chosen)} {'is' if len(chosen) == 1 else 'are'} chosen."
        )
    load = dict.fromkeys(chosen, 0)
    moves = []
    for index, partition in enumerate(sorted(current)):
        before = tuple(current[partition])
        kept = [b for b in before if b in load][:replication_factor]
        # Round-robin start per partition spreads leaders of new copies over brokers.
        rotation = chosen[index % len(chosen) :] + chosen[: index % len(chosen)]
        for broker in sorted(rotation, key=lambda b: (load[b], rotation.index(b))):
            if len(kept) >= replication_factor:
                break
            if broker not in kept:
                kept.append(broker)
        for broker in kept:
            load[broker] += 1
        moves.append(Move(partition, before, tuple(kept)))
    return moves
