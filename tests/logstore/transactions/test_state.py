"""The transaction state table: every state against every target, as Kafka allows them,
and what a move records (start time on opening, last update always)."""

from __future__ import annotations

import itertools

import pytest

from logstore.transactions.state import (
    IllegalTransition,
    TxnMetadata,
    TxnState,
    can_move,
)
from logstore.transactions.txn_log import decode_key, decode_value, encode_key, encode_value

S = TxnState
ALLOWED = {
    (S.EMPTY, S.EMPTY), (S.EMPTY, S.ONGOING), (S.EMPTY, S.DEAD), (S.EMPTY, S.PREPARE_EPOCH_FENCE),
    (S.ONGOING, S.ONGOING), (S.ONGOING, S.PREPARE_COMMIT), (S.ONGOING, S.PREPARE_ABORT),
    (S.ONGOING, S.PREPARE_EPOCH_FENCE),
    (S.PREPARE_COMMIT, S.COMPLETE_COMMIT),
    (S.PREPARE_ABORT, S.COMPLETE_ABORT),
    (S.COMPLETE_COMMIT, S.EMPTY), (S.COMPLETE_COMMIT, S.ONGOING), (S.COMPLETE_COMMIT, S.DEAD),
    (S.COMPLETE_COMMIT, S.PREPARE_EPOCH_FENCE),
    (S.COMPLETE_ABORT, S.EMPTY), (S.COMPLETE_ABORT, S.ONGOING), (S.COMPLETE_ABORT, S.DEAD),
    (S.COMPLETE_ABORT, S.PREPARE_EPOCH_FENCE),
    (S.PREPARE_EPOCH_FENCE, S.PREPARE_ABORT),
}  # fmt: skip


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_every_state_against_every_target(current: TxnState, target: TxnState) -> None:
    meta = TxnMetadata("tx", 7, 1, 60_000, state=current, last_update_ms=5)
    if (current, target) in ALLOWED:
        meta.move(target, 100)
        assert meta.state is target
        assert meta.last_update_ms == 100
    else:
        assert not can_move(current, target)
        with pytest.raises(IllegalTransition):
            meta.move(target, 100)
        assert meta.state is current
        assert meta.last_update_ms == 5


def test_opening_a_transaction_records_its_start_and_more_partitions_keep_it() -> None:
    meta = TxnMetadata("tx", 7, 1, 60_000)
    meta.move(S.ONGOING, 100)
    meta.move(S.ONGOING, 250)
    assert meta.start_ms == 100
    assert meta.last_update_ms == 250


def test_the_log_record_round_trips_in_kafkas_layout() -> None:
    meta = TxnMetadata(
        "tx-é", 123456789, 42, 30_000, S.ONGOING, {("a", 0), ("a", 3), ("b", 1)}, False, 9, 8
    )
    key = encode_key(meta.transactional_id)
    assert key[:2] == b"\x00\x00"  # key version 0
    value = encode_value(meta)
    # version 0, producer id, epoch, timeout, status byte
    assert value[:17] == (
        b"\x00\x00" + (123456789).to_bytes(8, "big") + b"\x00\x2a" + (30_000).to_bytes(4, "big")
        + b"\x01"
    )  # fmt: skip
    assert decode_key(key) == "tx-é"
    assert decode_value("tx-é", value) == meta
    assert decode_key(b"\x00\x01\x00\x01x") is None
