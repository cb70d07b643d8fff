"""Which open transactions hang, and the plain words that say so.

Owns the judgement over what `console.kafka.transactions` read: a transaction's age, whether
it hangs (open longer than its own timeout, after which its coordinator should have aborted
it), how many records it keeps from read_committed consumers, and the sentence a person
reads ("312 records not yet visible to read_committed consumers: transaction open 4 min").
It must never read a cluster: callers hand in the transactions, offsets and the time.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.kafka.model import OpenTransaction, StableOffsets
from console.templatetags.odradek import human_age

TP = tuple[str, int]


@dataclass(frozen=True)
class TxnRow:
    """One open transaction as the Transactions page shows it."""

    txn: OpenTransaction
    age_ms: int | None  # None when the coordinator gave no start time
    held_back: int  # records of its partitions read_committed consumers cannot read yet
    hanging: bool
    sentence: str


def age_ms(txn: OpenTransaction, now_ms: int) -> int | None:
    return max(0, now_ms - txn.start_ms) if txn.start_ms >= 0 else None


def is_hanging(txn: OpenTransaction, now_ms: int) -> bool:
    """Open longer than its timeout: its producer is gone or stuck and the coordinator has
    not aborted it, so every read_committed consumer of its partitions waits."""
    age = age_ms(txn, now_ms)
    return age is not None and age > txn.timeout_ms


def held_back_sentence(records: int, open_ms: int | None) -> str:
    """What a gap between the last stable offset and the log end means to a reader."""
    noun = "record" if records == 1 else "records"
    where = f"{records:,} {noun} not yet visible to read_committed consumers"
    if open_ms is None:
        return f"{where}: a transaction is still open"
    return f"{where}: transaction open {human_age(open_ms)}"


def rows(
    transactions: list[OpenTransaction], offsets: dict[TP, StableOffsets], now_ms: int
) -> list[TxnRow]:
    """The page's rows, hanging transactions first, then the oldest."""
    out = []
    for t in transactions:
        age = age_ms(t, now_ms)
        held = sum(offsets[tp].held_back for tp in t.partitions if tp in offsets)
        hanging = is_hanging(t, now_ms)
        sentence = held_back_sentence(held, age)
        if hanging:
            sentence += f", past its {human_age(t.timeout_ms)} timeout: it hangs"
        out.append(TxnRow(t, age, held, hanging, sentence))
    return sorted(out, key=lambda r: (not r.hanging, -(r.age_ms or 0)))


def partition_notes(
    offsets: dict[TP, StableOffsets], transactions: list[OpenTransaction], now_ms: int
) -> dict[TP, str]:
    """The sentence of each partition whose last stable offset is behind its end; the age is
    that of the oldest open transaction writing to it, when known."""
    oldest: dict[TP, int] = {}
    for t in transactions:
        age = age_ms(t, now_ms)
        for tp in t.partitions:
            if age is not None and age > oldest.get(tp, -1):
                oldest[tp] = age
    return {
        tp: held_back_sentence(o.held_back, oldest.get(tp))
        for tp, o in sorted(offsets.items())
        if o.held_back
    }
