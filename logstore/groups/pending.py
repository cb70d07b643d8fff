"""Transactional offsets not yet visible: what TxnOffsetCommit wrote, per producer id.

Owns the table of pending transactional offsets, Kafka's layout: per producer id, the
(group, topic, partition) offsets its open transaction committed, each with the offset
of its record in `__consumer_offsets` (a marker makes them committed only where they are
newer than what is committed already) and the `__consumer_offsets` partitions that hold
them (where the marker goes); per group, the producers with pending offsets in it. It
must never append, read files or await: the coordinator writes the records and markers,
then tells this table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from logstore.groups.offsets import CommittedOffset, Key


@dataclass(frozen=True, slots=True)
class PendingOffset:
    value: CommittedOffset
    record_offset: int


@dataclass
class ProducerOffsets:
    """One producer's open transaction, as seen by the group coordinator."""

    epoch: int
    offsets: dict[Key, PendingOffset] = field(default_factory=dict)
    # The `__consumer_offsets` partitions its records went to.
    partitions: set[int] = field(default_factory=set)


class PendingOffsets:
    def __init__(self) -> None:
        self._producers: dict[int, ProducerOffsets] = {}
        self._groups: dict[str, set[int]] = {}

    def add(
        self,
        producer_id: int,
        producer_epoch: int,
        partition: int,
        key: Key,
        value: CommittedOffset,
        record_offset: int,
    ) -> None:
        entry = self._producers.get(producer_id)
        if entry is None:
            entry = self._producers[producer_id] = ProducerOffsets(producer_epoch)
        entry.epoch = max(entry.epoch, producer_epoch)
        entry.offsets[key] = PendingOffset(value, record_offset)
        entry.partitions.add(partition)
        self._groups.setdefault(key[0], set()).add(producer_id)

    def epoch(self, producer_id: int) -> int | None:
        """The epoch of the producer's pending offsets; None when it has none."""
        entry = self._producers.get(producer_id)
        return None if entry is None else entry.epoch

    def has_producer(self, producer_id: int) -> bool:
        return producer_id in self._producers

    def partitions(self, producer_id: int) -> set[int]:
        entry = self._producers.get(producer_id)
        return set() if entry is None else set(entry.partitions)

    def has(self, group: str, topic: str, partition: int) -> bool:
        """Whether an open transaction holds an offset of this partition for the group."""
        return any(
            (group, topic, partition) in self._producers[pid].offsets
            for pid in self._groups.get(group, ())
        )

    def has_group(self, group: str) -> bool:
        return group in self._groups

    def groups(self) -> list[str]:
        return list(self._groups)

    def keys_of(self, group: str) -> set[tuple[str, int]]:
        """(topic, partition) of every pending offset of the group."""
        return {
            (t, p)
            for pid in self._groups.get(group, ())
            for (g, t, p) in self._producers[pid].offsets
            if g == group
        }

    def take(self, producer_id: int) -> ProducerOffsets | None:
        """Remove and return the producer's open transaction (a marker ends it)."""
        entry = self._producers.pop(producer_id, None)
        if entry is None:
            return None
        for group in {key[0] for key in entry.offsets}:
            self._forget(group, producer_id)
        return entry

    def restore(self, producer_id: int, entry: ProducerOffsets) -> None:
        """Put back what `take` returned (its marker was not written)."""
        current = self._producers.get(producer_id)
        if current is not None:
            # Newer records of the same transaction win over the restored ones.
            entry.offsets.update(current.offsets)
            entry.partitions |= current.partitions
            entry.epoch = max(entry.epoch, current.epoch)
        self._producers[producer_id] = entry
        for group, _, _ in entry.offsets:
            self._groups.setdefault(group, set()).add(producer_id)

    def discard(self, group: str, topic: str, partition: int) -> None:
        """A tombstone for the key: every open transaction loses its offset for it."""
        for pid in list(self._groups.get(group, ())):
            entry = self._producers[pid]
            entry.offsets.pop((group, topic, partition), None)
            if not any(key[0] == group for key in entry.offsets):
                self._forget(group, pid)

    def discard_topic(self, topic: str) -> list[Key]:
        """Drop every pending offset of a deleted topic; returns the keys dropped."""
        dropped = sorted(
            {key for entry in self._producers.values() for key in entry.offsets if key[1] == topic}
        )
        for group, t, p in dropped:
            self.discard(group, t, p)
        return dropped

    def _forget(self, group: str, producer_id: int) -> None:
        producers = self._groups.get(group)
        if producers is None:
            return
        producers.discard(producer_id)
        if not producers:
            del self._groups[group]
