"""The share-partition state machine: acquisition by ranges, acknowledgement, locks, limits."""

from __future__ import annotations

import pytest

from logstore.shares.partition import (
    ACCEPT,
    ACKNOWLEDGED,
    ACQUIRED,
    ARCHIVED,
    AVAILABLE,
    GAP,
    INVALID_RECORD_STATE,
    INVALID_REQUEST,
    REJECT,
    RELEASE,
    RENEW,
    AckRefused,
    SharePartition,
)

LOCK = 30_000
LIMIT = 5


def test_new_records_are_acquired_as_one_range_and_accept_moves_the_start() -> None:
    part = SharePartition(0)
    assert part.acquire("a", 0, 100, now=0, lock_ms=LOCK, max_records=500) == [(0, 99, 1)]
    assert part.counts()[ACQUIRED] == 100
    assert len(part.spans) == 1
    part.acknowledge("a", [(0, 49, [ACCEPT])], LIMIT)
    assert part.spso == 50
    assert part.acquire("b", 0, 100, now=0, lock_ms=LOCK, max_records=500) == []


def test_release_redelivers_with_the_delivery_count_raised() -> None:
    part = SharePartition(0)
    part.acquire("a", 0, 10, now=0, lock_ms=LOCK, max_records=500)
    part.acknowledge("a", [(3, 5, [RELEASE])], LIMIT)
    assert part.next_available() == 3
    assert part.acquire("b", 3, 10, now=0, lock_ms=LOCK, max_records=500) == [(3, 5, 2)]


def test_per_record_types_split_a_range_and_reject_archives() -> None:
    part = SharePartition(0)
    part.acquire("a", 0, 4, now=0, lock_ms=LOCK, max_records=500)
    part.acknowledge("a", [(0, 3, [ACCEPT, REJECT, RELEASE, GAP])], LIMIT)
    assert part.spso == 2
    states = [(s.first, s.last, s.state) for s in part.spans]
    assert states == [(2, 2, AVAILABLE), (3, 3, ARCHIVED)]


def test_lapsed_locks_return_records_and_the_limit_archives_them() -> None:
    part = SharePartition(0)
    now = 0
    for delivery in range(1, 3):
        assert part.acquire("a", 0, 5, now, LOCK, 500) == [(0, 4, delivery)]
        now += LOCK
        assert part.expire(now, delivery_limit=2)
    assert part.spso == 5
    assert not part.spans


def test_acks_for_records_another_member_holds_change_nothing() -> None:
    part = SharePartition(0)
    part.acquire("a", 0, 5, now=0, lock_ms=LOCK, max_records=500)
    part.acquire("b", 5, 10, now=0, lock_ms=LOCK, max_records=500)
    with pytest.raises(AckRefused) as refused:
        part.acknowledge("a", [(0, 4, [ACCEPT]), (4, 6, [ACCEPT])], LIMIT)
    assert refused.value.code == INVALID_RECORD_STATE
    assert part.spso == 0
    assert part.counts()[ACQUIRED] == 10


@pytest.mark.parametrize(
    ("batch", "code"),
    [
        ((3, 2, [ACCEPT]), INVALID_REQUEST),
        ((0, 2, [ACCEPT, ACCEPT]), INVALID_REQUEST),
        ((0, 0, [9]), INVALID_REQUEST),
        ((8, 20, [ACCEPT]), INVALID_REQUEST),
    ],
)
def test_malformed_or_foreign_acks_get_kafkas_codes(
    batch: tuple[int, int, list[int]], code: int
) -> None:
    part = SharePartition(0)
    part.acquire("a", 0, 10, now=0, lock_ms=LOCK, max_records=500)
    with pytest.raises(AckRefused) as refused:
        part.acknowledge("a", [batch], LIMIT)
    assert refused.value.code == code


def test_acks_below_the_start_offset_are_already_settled() -> None:
    part = SharePartition(0)
    part.acquire("a", 0, 10, now=0, lock_ms=LOCK, max_records=500)
    part.acknowledge("a", [(0, 4, [ACCEPT])], LIMIT)
    part.acknowledge("a", [(0, 6, [ACCEPT])], LIMIT)
    assert part.spso == 7
    with pytest.raises(AckRefused) as refused:
        part.acknowledge("b", [(0, 7, [ACCEPT])], LIMIT)
    assert refused.value.code == INVALID_RECORD_STATE


def test_max_records_limits_one_acquisition() -> None:
    part = SharePartition(0)
    assert part.acquire("a", 0, 100, now=0, lock_ms=LOCK, max_records=30) == [(0, 99, 1)]
    part.acknowledge("a", [(0, 99, [RELEASE])], LIMIT)
    assert part.acquire("b", 0, 100, now=0, lock_ms=LOCK, max_records=30) == [(0, 29, 2)]


def test_a_snapshot_restores_acquired_records_as_available_with_their_counts() -> None:
    part = SharePartition(0)
    part.acquire("a", 0, 10, now=0, lock_ms=LOCK, max_records=500)
    part.acknowledge("a", [(0, 3, [ACCEPT]), (5, 5, [REJECT])], LIMIT)
    back = SharePartition.restore(part.snapshot())
    assert back.spso == 4
    assert [(s.first, s.last, s.state, s.delivery_count) for s in back.spans] == [
        (4, 4, AVAILABLE, 1),
        (5, 5, ARCHIVED, 1),
        (6, 9, AVAILABLE, 1),
    ]
    assert back.counts()[ACKNOWLEDGED] == 0


def test_a_hundred_thousand_records_in_flight_stay_a_handful_of_ranges() -> None:
    part = SharePartition(0)
    for start in range(0, 100_000, 500):
        part.acquire("a", start, start + 500, now=0, lock_ms=LOCK, max_records=500)
    assert part.in_flight == 100_000
    assert len(part.spans) == 1  # same owner, count and lock: merged


def test_renew_restarts_the_lock_and_keeps_the_records() -> None:
    part = SharePartition(0)
    part.acquire("a", 0, 10, now=0, lock_ms=1000, max_records=500)
    with pytest.raises(AckRefused) as refused:
        part.acknowledge("a", [(0, 9, [RENEW])], LIMIT)  # RENEW needs the request's flag
    assert refused.value.code == INVALID_REQUEST
    part.acknowledge("a", [(0, 4, [RENEW])], LIMIT, renew_deadline=1900)
    assert not part.expire(999, LIMIT)
    assert part.expire(1000, LIMIT)  # 5-9 lapse on their first lock
    assert part.counts() == {AVAILABLE: 5, ACQUIRED: 5, ACKNOWLEDGED: 0, ARCHIVED: 0}
    assert part.expire(1900, LIMIT)
    assert part.counts()[AVAILABLE] == 10
    with pytest.raises(AckRefused) as refused:
        part.acknowledge("a", [(0, 0, [RENEW])], LIMIT, renew_deadline=5000)
    assert refused.value.code == INVALID_RECORD_STATE


def test_record_limit_acquires_no_more_than_asked() -> None:
    part = SharePartition(0)
    assert part.acquire("a", 0, 10, now=0, lock_ms=LOCK, max_records=3, record_limit=True) == [
        (0, 2, 1)
    ]
    # Batch-optimized takes the rest of the batch, whatever the limit.
    assert part.acquire("a", 0, 10, now=0, lock_ms=LOCK, max_records=3) == [(3, 9, 1)]
