"""What one cleaning pass learns about transactions while it walks a log in offset order.

Owns Kafka's rule for transaction markers under compaction: a COMMIT marker may go once
no data batch of its transaction is left before it, an ABORT marker once the aborted data
is gone; in both cases only after `delete.retention.ms` more (the delete horizon the
cleaner stamps on the marker the first pass it finds it removable, so consumers that
read up to it meanwhile still see the transaction end). It also reports the aborted
transactions whose data a pass found gone, so the aborted list a read_committed fetch is
told about can forget them before their marker goes.

Pure bookkeeping over batch headers and the one control record of a marker: it never
reads files, never decides about keys or tombstones, and is used by one worker thread at
a time (one instance per pass).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field

from logstore.records import BatchHeader
from logstore.records.control import ABORT, COMMIT, read_marker
from logstore.records.errors import CorruptRecordError
from logstore.records.header import Buffer

AbortedRange = tuple[int, int, int]  # producer id, first offset, marker offset


@dataclass
class _OpenAbort:
    entry: AbortedRange
    data_seen: bool = False


@dataclass
class MarkerTracker:
    """Kafka's CleanedTransactionMetadata: fed every batch of a pass, in offset order."""

    _pending: list[tuple[int, int, int]] = field(default_factory=list)  # heap by first
    _aborting: dict[int, _OpenAbort] = field(default_factory=dict)
    _committing: set[int] = field(default_factory=set)
    # Aborted transactions whose marker this pass read with none of their data before it.
    data_gone: list[AbortedRange] = field(default_factory=list)

    @classmethod
    def over(cls, aborted: Iterable[AbortedRange]) -> MarkerTracker:
        """A tracker for a pass over a log whose aborted transactions are `aborted`."""
        tracker = cls()
        tracker._pending = [(first, pid, last) for pid, first, last in aborted]
        heapq.heapify(tracker._pending)
        return tracker

    def _reach(self, offset: int) -> None:
        """Aborted transactions that have begun by `offset` are now open."""
        while self._pending and self._pending[0][0] <= offset:
            first, pid, last = heapq.heappop(self._pending)
            self._aborting.setdefault(pid, _OpenAbort((pid, first, last)))

    def data(self, header: BatchHeader) -> bool:
        """A data batch: True when it belongs to an aborted transaction (to be removed)."""
        self._reach(header.last_offset)
        if not header.is_transactional:
            return False
        open_abort = self._aborting.get(header.producer_id)
        if open_abort is not None:
            open_abort.data_seen = True
            return True
        self._committing.add(header.producer_id)
        return False

    def marker(self, header: BatchHeader, batch: Buffer) -> bool:
        """A control batch: True when no data of its transaction is left before it, so it
        may go once its delete horizon has passed."""
        self._reach(header.last_offset)
        kind = _control_type(header, batch)
        if kind is None:  # emptied by an earlier cleaning: nothing left to guard
            return True
        pid = header.producer_id
        if kind == ABORT:
            open_abort = self._aborting.pop(pid, None)
            if open_abort is not None and open_abort.data_seen:
                return False
            if open_abort is not None:
                self.data_gone.append(open_abort.entry)
            return True
        if kind == COMMIT:
            if pid in self._committing:
                self._committing.discard(pid)
                return False
            return True
        return False  # a control record that is no transaction marker: keep it


def _control_type(header: BatchHeader, batch: Buffer) -> int | None:
    """ABORT or COMMIT, None for a batch without records, -1 for any other control batch."""
    if header.records_count == 0:
        return None
    try:
        return read_marker(batch)[0]
    except CorruptRecordError:
        return -1
