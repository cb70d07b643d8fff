"""console.txn_state: which open transactions hang and the sentences that say so."""

from __future__ import annotations

from console.kafka.model import OpenTransaction, StableOffsets
from console.txn_state import held_back_sentence, is_hanging, partition_notes, rows

MIN = 60_000
NOW = 1_700_000_000_000


def _txn(
    tid: str, open_ms: int, timeout_ms: int = MIN, parts: tuple = (("t", 0),)
) -> OpenTransaction:
    return OpenTransaction(tid, 7, 0, "Ongoing", timeout_ms, NOW - open_ms, parts)


def test_a_transaction_hangs_only_past_its_own_timeout() -> None:
    assert not is_hanging(_txn("a", MIN), NOW)
    assert is_hanging(_txn("a", MIN + 1), NOW)
    assert not is_hanging(_txn("a", 10 * MIN, timeout_ms=15 * MIN), NOW)
    unknown = OpenTransaction("u", 1, 0, "Ongoing", MIN, -1, ())
    assert not is_hanging(unknown, NOW)


def test_the_sentence_names_records_and_age() -> None:
    assert held_back_sentence(312, 4 * MIN) == (
        "312 records not yet visible to read_committed consumers: transaction open 4 min"
    )
    assert held_back_sentence(1, None) == (
        "1 record not yet visible to read_committed consumers: a transaction is still open"
    )


def test_rows_put_hanging_first_and_sum_the_records_held_back() -> None:
    offsets = {("t", 0): StableOffsets(2, 5), ("t", 1): StableOffsets(0, 4)}
    fresh = _txn("fresh", 30_000, parts=(("t", 0),))
    stuck = _txn("stuck", 5 * MIN, parts=(("t", 0), ("t", 1)))

    got = rows([fresh, stuck], offsets, NOW)

    assert [r.txn.transactional_id for r in got] == ["stuck", "fresh"]
    assert (got[0].hanging, got[0].held_back, got[0].age_ms) == (True, 7, 5 * MIN)
    assert got[0].sentence.endswith("open 5 min, past its 1 min timeout: it hangs")
    assert (got[1].hanging, got[1].held_back) == (False, 3)


def test_partition_notes_only_where_the_lso_is_behind_with_the_oldest_age() -> None:
    offsets = {("t", 0): StableOffsets(2, 5), ("t", 1): StableOffsets(4, 4)}
    txns = [_txn("a", 2 * MIN), _txn("b", 9 * MIN)]

    notes = partition_notes(offsets, txns, NOW)

    assert notes == {
        (
            "t",
            0,
        ): "3 records not yet visible to read_committed consumers: transaction open 9 min"
    }
