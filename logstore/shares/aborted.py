"""Which fetched batches a read_committed share group must never hand out: the data batches
of aborted transactions.

Owns Kafka's walk over a fetched range: aborted transactions (producer id, first offset)
join the aborted set once a batch reaches their first offset, a producer's ABORT marker
takes it out again, and a transactional data batch of a producer in the set is aborted.
It reads batch headers only (and a marker's one control record), never record data, and
never touches files, clocks or share state.
"""

from __future__ import annotations

import heapq

from logstore.records.control import ABORT, control_type
from logstore.records.errors import CorruptRecordError
from logstore.records.header import Buffer, iter_headers

NO_PRODUCER = -1


def aborted_batches(data: Buffer, aborted: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(first offset, last offset) of each aborted data batch in `data` (whole batches, in
    offset order); `aborted` is (producer id, first offset) of the aborted transactions
    overlapping the range, as `ProducerManager.aborted_transactions` lists them."""
    if not aborted:
        return []
    pending = [(first, pid) for pid, first in aborted]
    heapq.heapify(pending)
    active: set[int] = set()
    out: list[tuple[int, int]] = []
    view = memoryview(data)
    for pos, header in iter_headers(view):
        pid = header.producer_id
        if pid == NO_PRODUCER:
            continue
        while pending and pending[0][0] <= header.last_offset:
            active.add(heapq.heappop(pending)[1])
        if header.is_control:
            if pid in active and _is_abort(view[pos : pos + header.size]):
                active.discard(pid)
        elif header.is_transactional and pid in active:
            out.append((header.base_offset, header.last_offset))
    return out


def _is_abort(batch: Buffer) -> bool:
    try:
        return control_type(batch) == ABORT
    except CorruptRecordError:
        return False
