"""The fetch session cache on its own: plans, epochs, what an incremental reply keeps, eviction."""

from __future__ import annotations

import random
from collections import Counter

from logstore.broker.fetch_sessions import (
    EVICTION_MS,
    FETCH_SESSION_ID_NOT_FOUND,
    INVALID_FETCH_SESSION_EPOCH,
    Answered,
    FetchSessionCache,
    Wanted,
    next_epoch,
    select,
)
from logstore.clock import ManualClock


def wanted(*partitions: int, topic: str = "t", offset: int = 0) -> list[Wanted]:
    return [Wanted(topic, p, offset, 1 << 20) for p in partitions]


def answer(hw: int = 10, start: int = 0, records: int = 0, error: int = 0) -> Answered:
    return Answered(error, hw, start, records)


def open_session(cache: FetchSessionCache, *partitions: int, hw: int = 10) -> int:
    plan = cache.plan(0, 0, wanted(*partitions), ())
    return cache.open_for(plan, [(w, answer(hw)) for w in plan.wanted])


def test_full_request_opens_a_session_at_epoch_1_and_final_epoch_does_not() -> None:
    cache = FetchSessionCache(10, ManualClock(), shards=1, rng=random.Random(1))
    session_id = open_session(cache, 0, 1)
    assert session_id > 0
    session = cache.get(session_id)
    assert session is not None
    assert session.epoch == 1
    assert list(session.partitions) == [("t", 0), ("t", 1)]
    sessionless = cache.plan(0, -1, wanted(0), ())
    assert cache.open_for(sessionless, [(sessionless.wanted[0], answer())]) == 0
    assert len(cache) == 1


def test_unknown_session_and_wrong_epoch_are_refused() -> None:
    cache = FetchSessionCache(10, ManualClock(), shards=1)
    session_id = open_session(cache, 0)
    assert cache.plan(session_id + 1, 1, [], ()).error == FETCH_SESSION_ID_NOT_FOUND
    assert cache.plan(session_id, 2, [], ()).error == INVALID_FETCH_SESSION_EPOCH
    plan = cache.plan(session_id, 1, [], ())
    assert plan.error == 0
    assert plan.session is not None
    assert plan.session.epoch == 2
    assert plan.expected_epoch == 2
    # The same epoch again is a duplicate: the session has moved on.
    assert cache.plan(session_id, 1, [], ()).error == INVALID_FETCH_SESSION_EPOCH


def test_incremental_request_reads_cached_partitions_with_updates_and_forgets() -> None:
    cache = FetchSessionCache(10, ManualClock(), shards=1)
    session_id = open_session(cache, 0, 1, 2)
    plan = cache.plan(session_id, 1, wanted(1, offset=7) + wanted(0, topic="u"), [("t", 2)])
    assert [(w.topic, w.partition, w.fetch_offset) for w in plan.wanted] == [
        ("t", 0, 0),
        ("t", 1, 7),
        ("u", 0, 0),
    ]


def test_forgetting_every_partition_closes_the_session() -> None:
    cache = FetchSessionCache(10, ManualClock(), shards=1)
    session_id = open_session(cache, 0)
    plan = cache.plan(session_id, 1, [], [("t", 0)])
    assert plan.session is None
    assert plan.wanted == []
    assert plan.error == 0
    assert cache.get(session_id) is None
    assert cache.total_partitions == 0


def test_full_request_naming_a_session_closes_it() -> None:
    cache = FetchSessionCache(10, ManualClock(), shards=1)
    session_id = open_session(cache, 0)
    cache.plan(session_id, 0, wanted(0), ())
    assert cache.get(session_id) is None


def test_incremental_reply_keeps_only_changed_partitions_and_rotates_those_with_data() -> None:
    cache = FetchSessionCache(10, ManualClock(), shards=1)
    session_id = open_session(cache, 0, 1, 2, hw=10)
    session = cache.get(session_id)
    assert session is not None
    answers = [
        (wanted(0)[0], answer(hw=10)),  # nothing new
        (wanted(1)[0], answer(hw=12, records=100)),  # new records
        (wanted(2)[0], answer(hw=10, start=3)),  # log start moved
    ]
    assert select(session, answers) == [1, 2]
    # Partitions that returned records go to the back of the reading order.
    assert list(session.partitions) == [("t", 0), ("t", 2), ("t", 1)]
    assert select(session, [*answers[:1], (wanted(1)[0], answer(hw=12))]) == []


def test_errors_are_always_sent_and_the_partition_again_once_they_clear() -> None:
    cache = FetchSessionCache(10, ManualClock(), shards=1)
    session = cache.get(open_session(cache, 0, hw=10))
    assert session is not None
    assert select(session, [(wanted(0)[0], answer(hw=-1, start=-1, error=3))]) == [0]
    assert select(session, [(wanted(0)[0], answer(hw=-1, start=-1, error=3))]) == [0]
    assert select(session, [(wanted(0)[0], answer(hw=10))]) == [0]
    assert select(session, [(wanted(0)[0], answer(hw=10))]) == []


def test_young_sessions_are_not_evicted_and_zero_slots_means_no_sessions() -> None:
    clock = ManualClock()
    cache = FetchSessionCache(2, clock, shards=1)
    assert open_session(cache, 0)
    assert open_session(cache, 0)
    clock.advance(EVICTION_MS)  # exactly the protection time: not yet stale
    assert open_session(cache, 0, 1, 2) == 0
    assert open_session(FetchSessionCache(0, clock, shards=1), 0) == 0


def test_a_stale_session_is_evicted_first() -> None:
    clock = ManualClock()
    cache = FetchSessionCache(2, clock, shards=1)
    stale = open_session(cache, 0, 1, 2)
    clock.advance(1000)
    busy = open_session(cache, 0)
    clock.advance(EVICTION_MS)
    assert cache.plan(busy, 1, [], ()).session is not None  # used now
    assert open_session(cache, 0) > 0
    assert cache.get(stale) is None
    assert cache.get(busy) is not None
    assert cache.evictions == 1


def test_an_old_but_used_session_gives_way_only_to_a_larger_one() -> None:
    clock = ManualClock()
    cache = FetchSessionCache(2, clock, shards=1)
    small = open_session(cache, 0)
    big = open_session(cache, 0, 1, 2)
    clock.advance(EVICTION_MS + 1)
    for session_id in (small, big):
        cache.plan(session_id, 1, [], ())  # used: nothing is stale, both are old enough
    assert open_session(cache, 5) == 0  # one partition does not beat one partition
    newest = open_session(cache, 0, 1)
    assert newest > 0
    assert cache.get(small) is None
    assert cache.get(big) is not None
    assert cache.total_partitions == 5


def test_epochs_wrap_to_one_and_final_stays_final() -> None:
    assert next_epoch(0) == 1
    assert next_epoch(2**31 - 1) == 1
    assert next_epoch(-1) == -1


def test_slots_are_split_over_eight_shards_by_session_id() -> None:
    clock = ManualClock()
    cache = FetchSessionCache(16, clock, rng=random.Random(7))
    ids = [open_session(cache, 0) for _ in range(40)]
    opened = [i for i in ids if i]
    # Two places per shard: 16 sessions fit, the rest find their random shard full.
    assert len(cache) == len(opened) == 16
    width = (2**31 - 1) // 8
    per_shard = Counter(i // width for i in opened)
    assert per_shard == {n: 2 for n in range(8)}
    assert all(cache.get(i) is not None for i in opened)


def test_fewer_slots_than_shards_means_no_sessions() -> None:
    cache = FetchSessionCache(7, ManualClock())
    assert [open_session(cache, 0) for _ in range(20)] == [0] * 20


def test_a_moved_last_stable_offset_alone_puts_the_partition_in_the_reply() -> None:
    cache = FetchSessionCache(10, ManualClock(), shards=1)
    session = cache.get(open_session(cache, 0, hw=10))
    assert session is not None
    held = Answered(0, 10, 0, 0, 4)  # a transaction holds the LSO at 4
    assert select(session, [(wanted(0)[0], held)]) == [0]
    assert select(session, [(wanted(0)[0], held)]) == []
    # The LSO moving under an unchanged watermark is enough.
    assert select(session, [(wanted(0)[0], Answered(0, 10, 0, 0, 10))]) == [0]
