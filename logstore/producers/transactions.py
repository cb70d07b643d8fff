"""Per-partition transaction state: open transactions, aborted ones and the last stable offset.

Owns what one partition learns from the transactional batches appended to it: the first
offset of each producer's open transaction, ended by a COMMIT/ABORT control batch; the
aborted transactions (producer id, first offset, marker offset) a read_committed fetch must
be told about; and the last stable offset (the first offset of the oldest open
transaction). It is pure data, like `producers/state.py`: it never reads files, never
awaits and never decodes records (the caller hands it the control type of a marker).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import NamedTuple


class AbortedTxn(NamedTuple):
    """One aborted transaction: its data lies in [first_offset, last_offset] (the marker)."""

    producer_id: int
    first_offset: int
    last_offset: int


@dataclass
class PartitionTransactions:
    """Open and aborted transactions of one partition, in offset order."""

    # producer id -> first offset of its open transaction (dicts keep insertion order,
    # and a transaction opens at a higher offset than every one opened before it).
    ongoing: dict[int, int] = field(default_factory=dict)
    # Sorted by last_offset (markers are appended in offset order).
    aborted: list[AbortedTxn] = field(default_factory=list)
    _last_offsets: list[int] = field(default_factory=list)
    coordinator_epochs: dict[int, int] = field(default_factory=dict)

    def data(self, producer_id: int, base_offset: int) -> None:
        """A transactional data batch at `base_offset` (opens the transaction if none)."""
        self.ongoing.setdefault(producer_id, base_offset)

    def marker(
        self, producer_id: int, offset: int, *, commit: bool, coordinator_epoch: int
    ) -> None:
        """A COMMIT/ABORT marker at `offset` ends the producer's transaction here.

        As in Kafka, an abort marker without data before it still counts as an aborted
        transaction starting at the marker itself.
        """
        first = self.ongoing.pop(producer_id, offset)
        self.coordinator_epochs[producer_id] = coordinator_epoch
        if not commit:
            self.aborted.append(AbortedTxn(producer_id, first, offset))
            self._last_offsets.append(offset)

    def first_unstable_offset(self) -> int | None:
        """The first offset of the oldest open transaction, None when none is open."""
        if not self.ongoing:
            return None
        # Usually one or two entries: insertion order makes the first one the oldest.
        return next(iter(self.ongoing.values()))

    def aborted_between(self, fetch_offset: int, upper_offset: int) -> list[tuple[int, int]]:
        """(producer id, first offset) of aborted transactions overlapping
        [fetch_offset, upper_offset), as Kafka lists them in a read_committed fetch."""
        i = bisect.bisect_left(self._last_offsets, fetch_offset)
        return [
            (a.producer_id, a.first_offset)
            for a in self.aborted[i:]
            if a.first_offset < upper_offset
        ]

    def truncate_before(self, log_start: int) -> bool:
        """Forget aborted transactions that end before the log start (their data is gone);
        True when some were forgotten."""
        i = bisect.bisect_left(self._last_offsets, log_start)
        if i:
            del self.aborted[:i]
            del self._last_offsets[:i]
        return i > 0

    def forget(self, gone: list[tuple[int, int, int]]) -> bool:
        """Stop listing these aborted transactions (compaction found their data gone);
        True when some were listed."""
        drop = set(gone)
        kept = [a for a in self.aborted if tuple(a) not in drop]
        if len(kept) == len(self.aborted):
            return False
        self.aborted = kept
        self._last_offsets = [a.last_offset for a in kept]
        return True

    def to_json(self) -> dict[str, list[list[int]]]:
        return {
            "ongoing": [[pid, first] for pid, first in self.ongoing.items()],
            "aborted": [list(a) for a in self.aborted],
            "coordinator_epochs": [[p, e] for p, e in self.coordinator_epochs.items()],
        }

    @classmethod
    def from_json(cls, data: dict | None) -> PartitionTransactions:
        out = cls()
        if not data:
            return out
        for pid, first in sorted(data.get("ongoing", ()), key=lambda e: e[1]):
            out.ongoing[int(pid)] = int(first)
        for pid, first, last in data.get("aborted", ()):
            out.aborted.append(AbortedTxn(int(pid), int(first), int(last)))
            out._last_offsets.append(int(last))
        for pid, epoch in data.get("coordinator_epochs", ()):
            out.coordinator_epochs[int(pid)] = int(epoch)
        return out
