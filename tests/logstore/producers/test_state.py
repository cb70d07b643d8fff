"""Producer-state rules: duplicates, sequence gaps, epochs, wrap-around, snapshots."""

from __future__ import annotations

import pytest

from logstore.groups import errors as err
from logstore.producers.ids import ProducerIdAllocator
from logstore.producers.state import (
    INT32_MAX,
    BatchMeta,
    PartitionProducers,
    ProducerStateError,
)


def append(state: PartitionProducers, pid: int, epoch: int, first: int, count: int, at: int):
    last = (first + count - 1) % (INT32_MAX + 1)
    dup = state.check(pid, epoch, first, last)
    if dup is None:
        state.record(pid, epoch, BatchMeta(first, last, at, at + count - 1))
    return dup


def test_in_order_batches_are_accepted_and_retries_are_duplicates() -> None:
    state = PartitionProducers()
    assert append(state, 7, 0, 0, 10, 100) is None
    assert append(state, 7, 0, 10, 5, 110) is None
    dup = append(state, 7, 0, 0, 10, 999)
    assert dup is not None
    assert dup.base_offset == 100
    assert append(state, 7, 0, 10, 5, 999).base_offset == 110  # type: ignore[union-attr]


def test_only_last_five_batches_are_remembered() -> None:
    state = PartitionProducers()
    for i in range(6):
        append(state, 1, 0, i, 1, i)
    with pytest.raises(ProducerStateError) as exc:
        state.check(1, 0, 0, 0)  # fell out of the window: now just out of order
    assert exc.value.code == err.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert state.check(1, 0, 1, 1) == BatchMeta(1, 1, 1, 1)


def test_gap_is_out_of_order() -> None:
    state = PartitionProducers()
    append(state, 1, 0, 0, 3, 0)
    with pytest.raises(ProducerStateError) as exc:
        state.check(1, 0, 5, 5)
    assert exc.value.code == err.OUT_OF_ORDER_SEQUENCE_NUMBER


def test_older_epoch_is_fenced_and_new_epoch_restarts_at_zero() -> None:
    state = PartitionProducers()
    append(state, 1, 3, 0, 3, 0)
    with pytest.raises(ProducerStateError) as exc:
        state.check(1, 2, 3, 3)
    assert exc.value.code == err.INVALID_PRODUCER_EPOCH
    with pytest.raises(ProducerStateError) as exc:
        state.check(1, 4, 7, 7)
    assert exc.value.code == err.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert append(state, 1, 4, 0, 1, 3) is None
    assert state.entries[1].epoch == 4


def test_unknown_producer_may_start_anywhere_and_producers_are_independent() -> None:
    state = PartitionProducers()
    assert append(state, 1, 0, 42, 1, 0) is None
    assert append(state, 2, 0, 0, 1, 1) is None
    assert append(state, 1, 0, 43, 1, 2) is None


def test_sequence_wraps_after_int32_max() -> None:
    state = PartitionProducers()
    append(state, 1, 0, INT32_MAX - 1, 2, 0)
    assert append(state, 1, 0, 0, 1, 2) is None


def test_json_round_trip() -> None:
    state = PartitionProducers()
    append(state, 1, 0, 0, 3, 0)
    append(state, 2, 5, 9, 1, 3)
    again = PartitionProducers.from_json(state.to_json())
    assert again.check(1, 0, 0, 2) == BatchMeta(0, 2, 0, 2)
    assert again.entries[2].epoch == 5
    assert again.check(2, 5, 10, 10) is None


def test_producer_ids_never_repeat_across_restarts(tmp_path) -> None:
    first = ProducerIdAllocator(tmp_path, block=3)
    seen = [first.allocate() for _ in range(4)]
    # "crash": the next allocator starts past everything the first could have handed out
    second = ProducerIdAllocator(tmp_path, block=3)
    more = [second.allocate() for _ in range(2)]
    assert len(set(seen + more)) == 6
    assert min(more) > max(seen)


def test_expire_forgets_idle_producers() -> None:
    state = PartitionProducers()
    state.record(1, 0, BatchMeta(0, 0, 0, 0, timestamp=1_000))
    state.record(2, 0, BatchMeta(0, 0, 1, 1, timestamp=5_000))
    assert state.expire(2_000) == 1
    assert list(state.entries) == [2]
    assert state.check(1, 0, 7, 7) is None  # forgotten: accepted like a new producer
