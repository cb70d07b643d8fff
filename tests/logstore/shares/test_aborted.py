"""Which fetched batches are aborted transactions' data: Kafka's walk over batch headers."""

from __future__ import annotations

from logstore.records.builder import build_batch
from logstore.records.control import build_control_batch
from logstore.shares.aborted import aborted_batches
from logstore.shares.partition import ACQUIRED, ARCHIVED, SharePartition

A, B = 7, 9  # producer ids


def _data(pid: int, base: int, n: int, *, transactional: bool = True) -> bytes:
    return build_batch(
        [(None, b"v")] * n, base_offset=base, producer_id=pid, producer_epoch=0,
        base_sequence=0, transactional=transactional,
    )  # fmt: skip


def _marker(pid: int, base: int, *, commit: bool) -> bytes:
    return build_control_batch(pid, 0, commit=commit, timestamp=0, base_offset=base)


def test_only_the_aborted_producers_data_batches_are_skipped() -> None:
    # A and B interleave; A aborts, B commits; a plain batch sits in between.
    log = b"".join([
        _data(A, 0, 3),                      # 0-2  A, aborted
        _data(B, 3, 2),                      # 3-4  B, committed
        _data(-1, 5, 1, transactional=False),  # 5  not transactional
        _data(A, 6, 2),                      # 6-7  A, aborted
        _marker(A, 8, commit=False),         # 8    A's ABORT
        _marker(B, 9, commit=True),          # 9    B's COMMIT
        _data(A, 10, 2),                     # 10-11 A again: a new transaction
    ])  # fmt: skip
    assert aborted_batches(log, [(A, 0)]) == [(0, 2), (6, 7)]
    assert aborted_batches(log, []) == []


def test_a_transaction_joins_the_aborted_set_at_its_first_offset() -> None:
    log = b"".join([_data(A, 0, 2), _data(A, 2, 2), _marker(A, 4, commit=False)])
    # Only the second batch belongs to the aborted transaction (it started at offset 2).
    assert aborted_batches(log, [(A, 2)]) == [(2, 3)]


def test_archived_acquisitions_leave_the_answer_and_move_the_start() -> None:
    part = SharePartition(0)
    acquired = part.acquire("m", 0, 12, now=0, lock_ms=1000, max_records=500)
    assert acquired == [(0, 11, 1)]
    left = part.archive_acquired("m", [(0, 2), (6, 7)], acquired)
    assert left == [(3, 5, 1), (8, 11, 1)]
    assert part.spso == 3
    assert [(s.first, s.last, s.state) for s in part.spans] == [
        (3, 5, ACQUIRED),
        (6, 7, ARCHIVED),
        (8, 11, ACQUIRED),
    ]
    # Someone else's acquisition is never archived for this member.
    assert part.archive_acquired("other", [(3, 5)], [(3, 5, 1)]) == []
    assert part.counts()[ACQUIRED] == 7
