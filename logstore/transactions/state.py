"""A transactional id's state: Kafka's states, the transitions between them, the metadata.

Owns `TxnState` (with the status byte `__transaction_state` stores), the table of legal
transitions and `TxnMetadata`, one transactional id's producer, epoch, timeout and the
partitions of its open transaction. It must never do I/O, read a clock or know the wire:
the coordinator passes times in and persists what this describes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class TxnState(Enum):
    # Values are the status bytes of Kafka's TransactionLogValue.
    EMPTY = 0
    ONGOING = 1
    PREPARE_COMMIT = 2
    PREPARE_ABORT = 3
    COMPLETE_COMMIT = 4
    COMPLETE_ABORT = 5
    DEAD = 6
    PREPARE_EPOCH_FENCE = 7

    @property
    def title(self) -> str:
        """The name ListTransactions / DescribeTransactions report."""
        return _TITLES[self]


_TITLES = {
    TxnState.EMPTY: "Empty",
    TxnState.ONGOING: "Ongoing",
    TxnState.PREPARE_COMMIT: "PrepareCommit",
    TxnState.PREPARE_ABORT: "PrepareAbort",
    TxnState.COMPLETE_COMMIT: "CompleteCommit",
    TxnState.COMPLETE_ABORT: "CompleteAbort",
    TxnState.DEAD: "Dead",
    TxnState.PREPARE_EPOCH_FENCE: "PrepareEpochFence",
}

_S = TxnState
# Kafka's TransactionState.validPreviousStates, read the other way round.
TRANSITIONS: dict[TxnState, frozenset[TxnState]] = {
    _S.EMPTY: frozenset({_S.EMPTY, _S.ONGOING, _S.DEAD, _S.PREPARE_EPOCH_FENCE}),
    _S.ONGOING: frozenset(
        {_S.ONGOING, _S.PREPARE_COMMIT, _S.PREPARE_ABORT, _S.PREPARE_EPOCH_FENCE}
    ),
    _S.PREPARE_COMMIT: frozenset({_S.COMPLETE_COMMIT}),
    _S.PREPARE_ABORT: frozenset({_S.COMPLETE_ABORT}),
    _S.COMPLETE_COMMIT: frozenset({_S.EMPTY, _S.ONGOING, _S.DEAD, _S.PREPARE_EPOCH_FENCE}),
    _S.COMPLETE_ABORT: frozenset({_S.EMPTY, _S.ONGOING, _S.DEAD, _S.PREPARE_EPOCH_FENCE}),
    _S.DEAD: frozenset(),
    _S.PREPARE_EPOCH_FENCE: frozenset({_S.PREPARE_ABORT}),
}


class IllegalTransition(Exception):
    """A state change the table does not allow (a coordinator bug, never a client's)."""


def can_move(current: TxnState, target: TxnState) -> bool:
    return target in TRANSITIONS[current]


@dataclass
class TxnMetadata:
    transactional_id: str
    producer_id: int
    producer_epoch: int
    timeout_ms: int
    state: TxnState = TxnState.EMPTY
    partitions: set[tuple[str, int]] = field(default_factory=set)
    # AddOffsetsToTxn happened: the group coordinator holds offsets to complete.
    has_offsets: bool = False
    last_update_ms: int = 0
    start_ms: int = -1
    # The epoch before the last KIP-360 bump, so a retried InitProducerId presenting it
    # gets the bumped epoch again instead of being fenced (kept in memory only, as Kafka).
    last_epoch: int = -1

    def move(self, target: TxnState, now_ms: int) -> None:
        if not can_move(self.state, target):
            raise IllegalTransition(
                f"{self.transactional_id}: {self.state.title} -> {target.title}"
            )
        if target is TxnState.ONGOING and self.state is not TxnState.ONGOING:
            self.start_ms = now_ms
        self.state = target
        self.last_update_ms = now_ms

    @property
    def completing(self) -> bool:
        """Between the decision and the markers being written."""
        return self.state in (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT)

    @property
    def settled(self) -> bool:
        """No transaction open nor completing: a new one may start."""
        return self.state in (TxnState.EMPTY, TxnState.COMPLETE_COMMIT, TxnState.COMPLETE_ABORT)
