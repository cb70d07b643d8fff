"""Per-partition idempotent-producer state: epochs, sequences and the last five batches.

Owns the de-duplication rules Kafka applies to a batch carrying a producer id: a retry of
one of the producer's last five batches is a duplicate (acknowledged with its original
offset, not appended again), a lower epoch is fenced, a gap in sequence numbers is out of
order, and a new epoch must restart at sequence 0; a transaction marker ends the
producer's transaction (kept in `producers/transactions.py`) and may start a new epoch.
It is pure data: it never awaits,
never reads files and never touches sockets; loading and snapshots live in
`producers/manager.py`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from logstore.groups import errors as err
from logstore.producers.transactions import PartitionTransactions

MAX_BATCHES = 5  # Kafka keeps the metadata of the last five batches per producer
INT32_MAX = 2**31 - 1


class ProducerStateError(Exception):
    """A batch refused for its producer id / epoch / sequence, with Kafka's `.code`."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class DuplicateBatch:
    """What an already-appended batch was given; returned instead of appending again."""

    base_offset: int
    log_append_time: int = -1


@dataclass(frozen=True, slots=True)
class BatchMeta:
    first_seq: int
    last_seq: int
    base_offset: int
    last_offset: int
    timestamp: int = -1


@dataclass
class ProducerEntry:
    producer_id: int
    epoch: int
    batches: deque[BatchMeta] = field(default_factory=lambda: deque(maxlen=MAX_BATCHES))
    marker_timestamp: int = -1  # of the last transaction marker written for it

    @property
    def last_seq(self) -> int:
        return self.batches[-1].last_seq if self.batches else -1

    @property
    def last_timestamp(self) -> int:
        return max(self.batches[-1].timestamp if self.batches else -1, self.marker_timestamp)


def next_seq(seq: int, delta: int = 1) -> int:
    """Sequence numbers wrap from INT32_MAX back to 0, as in Kafka."""
    return (seq + delta) % (INT32_MAX + 1)


def last_seq_of(base_seq: int, last_offset_delta: int) -> int:
    return next_seq(base_seq, last_offset_delta) if base_seq >= 0 else -1


@dataclass
class PartitionProducers:
    """Producer entries of one partition, keyed by producer id, and its transactions."""

    entries: dict[int, ProducerEntry] = field(default_factory=dict)
    txns: PartitionTransactions = field(default_factory=PartitionTransactions)

    def check(
        self, producer_id: int, epoch: int, first_seq: int, last_seq: int
    ) -> BatchMeta | None:
        """None if the batch may be appended, its earlier metadata if it is a duplicate.

        Raises ProducerStateError for a fenced epoch or a sequence gap.
        """
        entry = self.entries.get(producer_id)
        if entry is None:
            # Unknown producer (new, or its state expired): accept whatever it starts with.
            return None
        if epoch < entry.epoch:
            raise ProducerStateError(
                err.INVALID_PRODUCER_EPOCH,
                f"producer {producer_id} epoch {epoch} is older than current {entry.epoch}",
            )
        if epoch > entry.epoch:
            if first_seq != 0:
                raise ProducerStateError(
                    err.OUT_OF_ORDER_SEQUENCE_NUMBER,
                    f"new epoch {epoch} for producer {producer_id} must start at sequence 0",
                )
            return None
        for meta in entry.batches:
            if meta.first_seq == first_seq and meta.last_seq == last_seq:
                return meta
        if entry.batches and first_seq != next_seq(entry.last_seq):
            raise ProducerStateError(
                err.OUT_OF_ORDER_SEQUENCE_NUMBER,
                f"producer {producer_id}: expected sequence {next_seq(entry.last_seq)},"
                f" got {first_seq}",
            )
        return None

    def record(self, producer_id: int, epoch: int, meta: BatchMeta) -> None:
        entry = self.entries.get(producer_id)
        if entry is None or epoch != entry.epoch:
            entry = ProducerEntry(producer_id, epoch)
            self.entries[producer_id] = entry
        entry.batches.append(meta)

    def emptied_marker(self, producer_id: int, epoch: int, timestamp: int) -> None:
        """A marker compaction emptied of its record: its transaction is long over, but
        the epoch it carries still fences older producers (why Kafka's cleaner keeps it)."""
        entry = self.entries.get(producer_id)
        if entry is None or epoch > entry.epoch:
            entry = ProducerEntry(producer_id, epoch)
            self.entries[producer_id] = entry
        entry.marker_timestamp = max(entry.marker_timestamp, timestamp)

    def record_marker(
        self,
        producer_id: int,
        epoch: int,
        offset: int,
        *,
        commit: bool,
        coordinator_epoch: int,
        timestamp: int,
    ) -> None:
        """A COMMIT/ABORT marker: ends the transaction; a newer epoch restarts sequences."""
        entry = self.entries.get(producer_id)
        if entry is None or epoch > entry.epoch:
            entry = ProducerEntry(producer_id, epoch)
            self.entries[producer_id] = entry
        entry.marker_timestamp = max(entry.marker_timestamp, timestamp)
        self.txns.marker(producer_id, offset, commit=commit, coordinator_epoch=coordinator_epoch)

    def expire(self, before_ms: int) -> int:
        """Forget producers whose last batch is older than `before_ms` (Kafka's
        producer.id.expiration.ms), so the table stays bounded; returns how many."""
        ongoing = self.txns.ongoing
        old = [
            pid
            for pid, e in self.entries.items()
            if e.last_timestamp < before_ms and pid not in ongoing
        ]
        for pid in old:
            del self.entries[pid]
            self.txns.coordinator_epochs.pop(pid, None)
        return len(old)

    def to_json(self) -> list[list[int | list[list[int]]]]:
        return [
            [
                e.producer_id,
                e.epoch,
                [
                    [b.first_seq, b.last_seq, b.base_offset, b.last_offset, b.timestamp]
                    for b in e.batches
                ],
                e.marker_timestamp,
            ]
            for e in self.entries.values()
        ]

    @classmethod
    def from_json(cls, data: list, txns: dict | None = None) -> PartitionProducers:
        out = cls(txns=PartitionTransactions.from_json(txns))
        for pid, epoch, batches, *rest in data:
            entry = ProducerEntry(int(pid), int(epoch))
            for b in batches:
                entry.batches.append(BatchMeta(*(int(x) for x in b)))
            if rest:
                entry.marker_timestamp = int(rest[0])
            out.entries[entry.producer_id] = entry
        return out
