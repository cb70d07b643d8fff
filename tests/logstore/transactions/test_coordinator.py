"""The transaction coordinator in-process over a real LogManager, the real producer-state
manager and the real group coordinator, on a manual clock: the state machine's answers
to every misuse, markers in the data partitions, timeouts that abort and fence, expiry of
idle ids, and the replay of `__transaction_state` after a stop or an interrupted commit."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from logstore import error_codes as ec
from logstore.broker.context import AppendNotifier
from logstore.clock import ManualClock
from logstore.groups.coordinator import GroupCoordinator
from logstore.groups.offsets import OFFSETS_TOPIC, CommittedOffset
from logstore.groups.settings import GroupSettings
from logstore.producers.manager import ProducerManager
from logstore.records import build_batch, iter_headers, parse_header
from logstore.records.control import ABORT, COMMIT, control_type
from logstore.storage import LogManager
from logstore.transactions.coordinator import TransactionCoordinator, TxnSettings
from logstore.transactions.markers import append_marker, marker_refusal
from logstore.transactions.state import TxnState
from logstore.transactions.txn_log import TRANSACTION_TOPIC

S = TxnState
SETTINGS = TxnSettings(max_timeout_ms=60_000, id_expiration_ms=3_600_000)


class Node:
    """The coordinators wired as the broker wires them, on one data directory."""

    def __init__(self, path: Path, clock: ManualClock) -> None:
        self.clock = clock
        self.logs = LogManager(path, fsync="always").open()
        self.producers = ProducerManager(self.logs, clock)
        self.appends = AppendNotifier()
        self.groups = GroupCoordinator(
            self.logs,
            clock,
            GroupSettings(initial_rebalance_delay_ms=0),
            record_producer=self.producers.record,
            notify_append=self.appends.notify,
        )
        self.groups.load()
        if self.logs.topic("t") is None:
            self.logs.create_topic("t", 2, {})
        self.txns = TransactionCoordinator(
            self.logs,
            self.producers,
            self.groups,
            clock,
            SETTINGS,
            notify_append=self.appends.notify,
        )
        self.txns.load()
        self.groups.transaction_verifier = self.txns.verify
        self.sequences: dict[tuple[int, int], int] = {}

    def markers(self, topic: str = "t", partition: int = 0) -> list[tuple[int, int, int]]:
        """(producer id, epoch, ABORT/COMMIT) of every marker in a partition."""
        plog = self.logs.log(topic, partition)
        found = []
        offset = plog.log_start_offset
        while offset < plog.log_end_offset:  # a read stops at a segment's end
            data = plog.read(offset, 1 << 24).to_bytes()
            for pos, h in iter_headers(data):
                if h.is_control:
                    found.append(
                        (h.producer_id, h.producer_epoch, control_type(data[pos : pos + h.size]))
                    )
                offset = h.last_offset + 1
        return found

    def produce(self, pid: int, epoch: int, partition: int = 0) -> int:
        """The KIP-890 check's answer, and the batch appended when it passes."""
        code = self.txns.check_produce(pid, epoch, "t", partition)
        if code == 0:
            plog = self.logs.log("t", partition)
            batch = build_batch(
                [(None, b"v")],
                producer_id=pid,
                producer_epoch=epoch,
                base_sequence=self.sequences.get((pid, partition), 0),
                transactional=True,
            )
            self.sequences[(pid, partition)] = self.sequences.get((pid, partition), 0) + 1
            result = plog.append(batch)
            self.producers.record(plog, parse_header(batch), result.base_offset)
        return code

    def close(self) -> None:
        self.logs.close()


async def test_commit_writes_markers_to_the_data_partitions_and_retries_are_answered(
    tmp_path,
) -> None:
    node = Node(tmp_path, ManualClock())
    txns = node.txns
    first = await txns.init_producer("tx", 30_000)
    assert first.error == 0
    assert first.producer_epoch == 0
    pid = first.producer_id
    assert await txns.end_txn("tx", pid, 0, True) == ec.INVALID_TXN_STATE  # nothing open
    assert node.produce(pid, 0) == ec.INVALID_TXN_STATE  # partition not added
    assert await txns.add_partitions("tx", pid, 0, [("t", 0), ("t", 1)]) == 0
    assert txns.get("tx").state is S.ONGOING
    assert node.produce(pid, 0) == 0
    assert await txns.end_txn("tx", pid, 0, True) == 0
    # Answered once the decision is durable; the markers follow, and until they are
    # written every request for the id is told to come back.
    assert txns.get("tx").state is S.PREPARE_COMMIT
    assert node.markers("t", 0) == []
    assert await txns.end_txn("tx", pid, 0, True) == ec.CONCURRENT_TRANSACTIONS
    assert await txns.end_txn("tx", pid, 0, False) == ec.INVALID_TXN_STATE
    assert await txns.add_partitions("tx", pid, 0, [("t", 0)]) == ec.CONCURRENT_TRANSACTIONS
    assert (await txns.init_producer("tx", 30_000, pid, 0)).error == ec.CONCURRENT_TRANSACTIONS
    await txns.drain()
    assert txns.get("tx").state is S.COMPLETE_COMMIT
    assert not txns.get("tx").partitions
    assert node.markers("t", 0) == [(pid, 0, COMMIT)]
    assert node.markers("t", 1) == [(pid, 0, COMMIT)]
    # A retried commit is answered as done, an abort of it refused, nothing written again.
    assert await txns.end_txn("tx", pid, 0, True) == 0
    await txns.drain()
    assert await txns.end_txn("tx", pid, 0, False) == ec.INVALID_TXN_STATE
    assert node.markers("t", 0) == [(pid, 0, COMMIT)]
    assert node.produce(pid, 0) == ec.INVALID_TXN_STATE  # the transaction is over
    # The next transaction of the same producer aborts.
    assert await txns.add_partitions("tx", pid, 0, [("t", 0)]) == 0
    assert await txns.end_txn("tx", pid, 0, False) == 0
    await txns.drain()
    assert node.markers("t", 0) == [(pid, 0, COMMIT), (pid, 0, ABORT)]
    assert node.markers("t", 1) == [(pid, 0, COMMIT)]
    node.close()


async def test_misuse_answers_kafkas_codes(tmp_path) -> None:
    node = Node(tmp_path, ManualClock())
    txns = node.txns
    assert (await txns.init_producer("tx", 60_001)).error == ec.INVALID_TRANSACTION_TIMEOUT
    assert (await txns.init_producer("tx", 0)).error == ec.INVALID_TRANSACTION_TIMEOUT
    assert (await txns.init_producer("", 1000)).error == ec.INVALID_REQUEST
    assert await txns.add_partitions("nobody", 5, 0, [("t", 0)]) == ec.INVALID_PRODUCER_ID_MAPPING
    pid = (await txns.init_producer("tx", 1000)).producer_id
    assert await txns.add_partitions("tx", pid + 1, 0, [("t", 0)]) == (
        ec.INVALID_PRODUCER_ID_MAPPING
    )
    assert await txns.add_partitions("tx", pid, 1, [("t", 0)]) == ec.PRODUCER_FENCED
    assert await txns.add_offsets("tx", pid, 1, "g") == ec.PRODUCER_FENCED
    assert await txns.end_txn("tx", pid, 1, True) == ec.PRODUCER_FENCED
    assert await txns.end_txn("tx", pid + 1, 0, True) == ec.INVALID_PRODUCER_ID_MAPPING
    assert await txns.end_txn("nobody", pid, 0, True) == ec.INVALID_PRODUCER_ID_MAPPING
    # KIP-360: an InitProducerId naming a producer that is not the current one is fenced.
    assert (await txns.init_producer("tx", 1000, pid, 5)).error == ec.PRODUCER_FENCED
    bumped = await txns.init_producer("tx", 1000, pid, 0)
    assert (bumped.error, bumped.producer_id, bumped.producer_epoch) == (0, pid, 1)
    # Its retry (the answer was lost) is answered the same, without another bump.
    retried = await txns.init_producer("tx", 1000, pid, 0)
    assert (retried.error, retried.producer_id, retried.producer_epoch) == (0, pid, 1)
    assert node.produce(pid, 1) == ec.INVALID_TXN_STATE
    assert await txns.add_partitions("tx", pid, 1, [("t", 0)]) == 0
    assert node.produce(pid, 0) == ec.INVALID_PRODUCER_EPOCH  # the old epoch is fenced
    assert node.produce(pid, 1) == 0
    assert await txns.verify("tx", pid, 1, 0) == ec.TRANSACTION_ABORTABLE  # no AddOffsets
    node.close()


async def test_a_new_incarnation_aborts_the_open_transaction_and_fences_the_old(tmp_path) -> None:
    node = Node(tmp_path, ManualClock())
    txns = node.txns
    pid = (await txns.init_producer("tx", 30_000)).producer_id
    assert await txns.add_partitions("tx", pid, 0, [("t", 1)]) == 0
    assert (await txns.init_producer("tx", 30_000)).error == ec.CONCURRENT_TRANSACTIONS
    assert node.markers("t", 1) == [(pid, 1, ABORT)]
    assert txns.get("tx").state is S.COMPLETE_ABORT
    again = await txns.init_producer("tx", 30_000)
    assert (again.error, again.producer_id, again.producer_epoch) == (0, pid, 2)
    assert await txns.end_txn("tx", pid, 0, True) == ec.PRODUCER_FENCED
    node.close()


async def test_a_fenced_incarnation_is_logged(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    node = Node(tmp_path, ManualClock())
    pid = (await node.txns.init_producer("tx", 30_000)).producer_id
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="logstore.transactions"):
        assert (await node.txns.init_producer("tx", 30_000)).producer_epoch == 1
    assert [r.getMessage() for r in caplog.records] == [
        f"transactional id 'tx': producer id {pid} epoch 0 fenced by InitProducerId, "
        f"now producer id {pid} epoch 1"
    ]
    node.close()


async def test_timeouts_abort_and_fence_on_the_clock_and_idle_ids_expire(tmp_path) -> None:
    clock = ManualClock()
    node = Node(tmp_path, clock)
    txns = node.txns
    pid = (await txns.init_producer("tx", 5_000)).producer_id
    assert await txns.add_partitions("tx", pid, 0, [("t", 0)]) == 0
    clock.advance(5_000)
    await txns.sweep()
    assert txns.get("tx").state is S.ONGOING  # not past its timeout yet
    clock.advance(1)
    await txns.sweep()
    assert txns.get("tx").state is S.COMPLETE_ABORT
    assert txns.get("tx").producer_epoch == 1
    assert node.markers("t", 0) == [(pid, 1, ABORT)]
    assert await txns.end_txn("tx", pid, 0, True) == ec.PRODUCER_FENCED
    clock.advance(SETTINGS.id_expiration_ms)
    await txns.sweep()
    assert txns.get("tx") is not None
    clock.advance(1)
    await txns.sweep()
    assert txns.get("tx") is None
    node.close()
    # The tombstone is durable: a restart does not bring the id back.
    node = Node(tmp_path, clock)
    assert node.txns.get("tx") is None
    fresh = await node.txns.init_producer("tx", 5_000)
    assert fresh.error == 0
    assert fresh.producer_id != pid
    assert fresh.producer_epoch == 0
    node.close()


async def test_offsets_of_the_transaction_commit_with_it(tmp_path) -> None:
    node = Node(tmp_path, ManualClock())
    txns, groups = node.txns, node.groups
    pid = (await txns.init_producer("tx", 30_000)).producer_id
    assert await groups.verify_transaction("g", "tx", pid, 0) == ec.TRANSACTION_ABORTABLE
    assert await txns.add_offsets("tx", pid, 0, "g") == 0
    assert await groups.verify_transaction("g", "tx", pid, 0) == 0
    await groups.commit_transactional("g", pid, 0, [("t", 0, CommittedOffset(7, -1, "", 1))])
    assert groups.has_pending("g", "t", 0)
    assert await txns.end_txn("tx", pid, 0, True) == 0
    assert groups.has_pending("g", "t", 0)  # until its marker is durable
    await txns.drain()
    assert not groups.has_pending("g", "t", 0)
    assert groups.offsets.get("g", "t", 0).offset == 7
    assert node.markers(OFFSETS_TOPIC, 0) == [(pid, 0, COMMIT)]
    node.close()


async def test_state_survives_a_restart_and_a_decided_commit_completes_on_start(
    tmp_path,
) -> None:
    clock = ManualClock()
    node = Node(tmp_path, clock)
    txns = node.txns
    pid = (await txns.init_producer("tx", 30_000)).producer_id
    await txns.init_producer("tx", 30_000)
    assert await txns.add_partitions("tx", pid, 1, [("t", 0), ("t", 1)]) == 0
    assert node.produce(pid, 1, 0) == 0
    assert node.produce(pid, 1, 1) == 0
    # The commit is decided and durable, then the broker stops after the marker of t/1
    # only.
    meta = txns.get("tx")
    prepared = txns._next(meta, S.PREPARE_COMMIT)
    await txns._persist(prepared)
    await txns._write_marker(prepared, "t", 1, True, False)
    node.close()
    node = Node(tmp_path, clock)
    meta = node.txns.get("tx")
    assert (meta.state, meta.producer_id, meta.producer_epoch) == (S.PREPARE_COMMIT, pid, 1)
    assert meta.partitions == {("t", 0), ("t", 1)}
    await node.txns.recover()
    assert node.txns.get("tx").state is S.COMPLETE_COMMIT
    assert node.markers("t", 0) == [(pid, 1, COMMIT)]
    assert node.markers("t", 1) == [(pid, 1, COMMIT)]  # not written twice
    assert node.producers.last_stable_offset(node.logs.log("t", 0)) == 2
    assert await node.txns.end_txn("tx", pid, 1, True) == 0
    await node.txns.drain()
    assert node.logs.topic(TRANSACTION_TOPIC).partitions == 1
    node.close()


async def test_partitions_ended_by_write_txn_markers_get_no_second_marker(tmp_path) -> None:
    clock = ManualClock()
    node = Node(tmp_path, clock)
    txns = node.txns
    pid = (await txns.init_producer("tx", 5_000)).producer_id
    assert await txns.add_partitions("tx", pid, 0, [("t", 0), ("t", 1)]) == 0
    assert node.produce(pid, 0, partition=0) == 0
    assert node.produce(pid, 0, partition=1) == 0
    clock.advance(10)

    async def admin_abort(partition: int, epoch: int = 0, coordinator_epoch: int = 0) -> int:
        plog = node.logs.log("t", partition)
        refused = marker_refusal(node.producers, plog, pid, epoch, coordinator_epoch)
        if not refused:
            await append_marker(
                node.logs,
                node.producers,
                plog,
                pid,
                epoch,
                commit=False,
                coordinator_epoch=coordinator_epoch,
                now_ms=clock.now_ms(),
                notify=node.appends.notify,
            )
        return refused

    assert await admin_abort(0, coordinator_epoch=3) == 0
    assert node.producers.last_stable_offset(node.logs.log("t", 0)) == 2
    # The partition now knows coordinator epoch 3: an older coordinator is fenced.
    assert await admin_abort(0, coordinator_epoch=2) == ec.TRANSACTION_COORDINATOR_FENCED
    # The transaction times out: partition 1 gets its abort, partition 0 no second one.
    clock.advance(5_000)
    await txns.sweep()
    assert txns.get("tx").state is S.COMPLETE_ABORT
    assert node.markers("t", 0) == [(pid, 0, ABORT)]
    assert node.markers("t", 1) == [(pid, 1, ABORT)]
    # The bumped epoch is now the partition's: a marker from the old epoch is refused.
    assert await admin_abort(1, epoch=0) == ec.INVALID_PRODUCER_EPOCH
    # A transaction completed by its producer after an admin's abort: the same.
    assert (await txns.init_producer("tx", 5_000, pid, 1)).error == 0
    assert await txns.add_partitions("tx", pid, 2, [("t", 0)]) == 0
    assert node.produce(pid, 2, partition=0) == 0
    clock.advance(10)
    assert await admin_abort(0, epoch=2, coordinator_epoch=3) == 0
    assert await txns.end_txn("tx", pid, 2, True) == 0
    await txns.drain()
    assert node.markers("t", 0) == [(pid, 0, ABORT), (pid, 2, ABORT)]
    node.close()


async def test_markers_carry_kafkas_coordinator_epoch_across_restarts(tmp_path) -> None:
    """0 until `__transaction_state` is in use, then two more per restart (what a
    single-node Kafka's `__transaction_state` leader epoch does, clean stop or kill)."""
    clock = ManualClock()
    node = Node(tmp_path, clock)
    node.close()
    node = Node(tmp_path, clock)  # a restart before any transaction counts nothing
    assert node.txns.epoch == 0
    epochs: list[int] = []
    for _ in range(3):
        pid = (await node.txns.init_producer("tx", 30_000)).producer_id
        epoch = node.txns.get("tx").producer_epoch
        assert await node.txns.add_partitions("tx", pid, epoch, [("t", 0)]) == 0
        assert await node.txns.end_txn("tx", pid, epoch, True) == 0
        await node.txns.drain()
        epochs.append(node.producers.marker_epochs(node.logs.log("t", 0), pid)[1])
        node.close()
        node = Node(tmp_path, clock)
    assert epochs == [0, 2, 4]
    assert node.txns.epoch == 6
    node.close()
