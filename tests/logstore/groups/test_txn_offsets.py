"""Transactional offsets in the real group coordinator over a real LogManager: pending
until the producer's marker, committed or dropped by it, rebuilt the same way by a replay
of `__consumer_offsets` after a clean stop or a crash, and the group rules around them
(TxnOffsetCommit's member checks, OffsetDelete, DeleteGroups, retention, compaction)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from logstore.broker.api import RequestContext
from logstore.broker.assembly import close_broker, open_broker
from logstore.broker.context import AppendNotifier
from logstore.broker.handlers.txn_offsets import txn_offset_commit
from logstore.clock import ManualClock
from logstore.config import BrokerConfig
from logstore.groups import errors as err
from logstore.groups.consumer import HeartbeatRequest
from logstore.groups.coordinator import GroupCoordinator
from logstore.groups.offsets import OFFSETS_TOPIC, CommittedOffset
from logstore.groups.settings import GroupSettings
from logstore.producers.manager import ProducerManager
from logstore.protocol.api_keys import ApiKey
from logstore.records import iter_headers
from logstore.records.control import ABORT, COMMIT, control_type
from logstore.storage import LogManager
from logstore.storage.cleaner import clean_log
from tests.clients.test_groups_wire import nested, request
from tests.logstore.groups.helpers import join_request

FAST = GroupSettings(initial_rebalance_delay_ms=0)
PID, EPOCH = 4000, 3


class Node:
    """A coordinator wired as the broker wires it, on a data directory."""

    def __init__(self, path: Path, clock: ManualClock, settings: GroupSettings = FAST) -> None:
        self.logs = LogManager(path, fsync="always").open()
        self.producers = ProducerManager(self.logs, clock)
        self.appends = AppendNotifier()
        self.coord = GroupCoordinator(
            self.logs,
            clock,
            settings,
            record_producer=self.producers.record,
            notify_append=self.appends.notify,
        )
        self.coord.load()
        if self.logs.topic("t") is None:
            self.logs.create_topic("t", 2, {})

    def markers(self) -> list[tuple[int, int, int]]:
        """(offset, producer id, ABORT/COMMIT) of every marker in `__consumer_offsets`."""
        plog = self.logs.log(OFFSETS_TOPIC, 0)
        data = plog.read(plog.log_start_offset, 1 << 24).to_bytes()
        return [
            (h.base_offset, h.producer_id, control_type(data[pos : pos + h.size]))
            for pos, h in iter_headers(data)
            if h.is_control
        ]

    def close(self) -> None:
        self.logs.close()


def offset(n: int, metadata: str = "") -> CommittedOffset:
    return CommittedOffset(n, -1, metadata, 1)


async def txn_commit(
    coord: GroupCoordinator, *entries: tuple[str, int, int], pid: int = PID, group: str = "g"
) -> None:
    await coord.commit_transactional(group, pid, EPOCH, [(t, p, offset(o)) for t, p, o in entries])


async def test_offsets_stay_pending_until_the_commit_marker(tmp_path) -> None:
    node = Node(tmp_path, ManualClock())
    coord = node.coord
    await coord.commit("g", [("t", 0, offset(5))])
    await txn_commit(coord, ("t", 0, 10), ("t", 1, 20))
    assert coord.has_pending_offsets(PID)
    assert not coord.has_pending_offsets(PID + 1)
    assert coord.has_pending("g", "t", 0)
    assert coord.has_pending("g", "t", 1)
    assert coord.committed("g", "t", 0) == offset(5)  # the last committed one is answered
    assert coord.committed("g", "t", 1) is None
    assert node.markers() == []

    woken = asyncio.create_task(node.appends.wait_any([(OFFSETS_TOPIC, 0)], 5))
    await asyncio.sleep(0)
    await coord.complete_transaction(PID, EPOCH, commit=True, coordinator_epoch=7)
    assert await woken  # read_committed fetchers of the offsets topic learn of the marker
    assert coord.committed("g", "t", 0) == offset(10)
    assert coord.committed("g", "t", 1) == offset(20)
    assert not coord.has_pending_offsets(PID)
    assert not coord.has_pending("g", "t", 0)
    end = node.logs.log(OFFSETS_TOPIC, 0).log_end_offset
    assert node.markers() == [(end - 1, PID, COMMIT)]
    # Completing again (a retried EndTxn) writes nothing.
    await coord.complete_transaction(PID, EPOCH, commit=True)
    assert node.markers() == [(end - 1, PID, COMMIT)]
    node.close()


async def test_abort_drops_pending_offsets_and_keeps_the_committed_ones(tmp_path) -> None:
    node = Node(tmp_path, ManualClock())
    coord = node.coord
    await coord.commit("g", [("t", 0, offset(5))])
    await txn_commit(coord, ("t", 0, 10), ("t", 1, 20))
    await coord.complete_transaction(PID, EPOCH, commit=False)
    assert coord.committed("g", "t", 0) == offset(5)
    assert coord.committed("g", "t", 1) is None
    assert not coord.has_pending("g", "t", 0)
    assert [m[1:] for m in node.markers()] == [(PID, ABORT)]
    node.close()


async def test_a_plain_commit_after_the_transactional_one_wins(tmp_path) -> None:
    node = Node(tmp_path, ManualClock())
    coord = node.coord
    await txn_commit(coord, ("t", 0, 10), ("t", 1, 20))
    await coord.commit("g", [("t", 0, offset(15))])
    await coord.complete_transaction(PID, EPOCH, commit=True)
    # Kafka keeps the most recent record: the plain commit came after the TxnOffsetCommit.
    assert coord.committed("g", "t", 0) == offset(15)
    assert coord.committed("g", "t", 1) == offset(20)
    node.close()
    again = Node(tmp_path, ManualClock())
    assert again.coord.committed("g", "t", 0) == offset(15)
    assert again.coord.committed("g", "t", 1) == offset(20)
    again.close()


async def test_two_producers_are_completed_independently(tmp_path) -> None:
    node = Node(tmp_path, ManualClock())
    coord = node.coord
    await txn_commit(coord, ("t", 0, 10), pid=1)
    await txn_commit(coord, ("t", 0, 11), pid=2, group="h")
    await coord.complete_transaction(2, EPOCH, commit=True)
    assert coord.committed("h", "t", 0) == offset(11)
    assert coord.has_pending("g", "t", 0)
    assert coord.committed("g", "t", 0) is None
    await coord.complete_transaction(1, EPOCH, commit=False)
    assert coord.committed("g", "t", 0) is None
    assert not coord.has_pending("g", "t", 0)
    node.close()


@pytest.mark.parametrize("clean", [True, False], ids=["stop", "crash"])
async def test_replay_applies_markers_and_keeps_open_transactions_pending(
    tmp_path, clean: bool
) -> None:
    clock = ManualClock()
    node = Node(tmp_path, clock)
    coord = node.coord
    await coord.commit("g", [("t", 0, offset(5)), ("t", 1, offset(6))])
    await txn_commit(coord, ("t", 0, 10), pid=1)  # committed
    await txn_commit(coord, ("t", 1, 20), pid=2)  # aborted
    await txn_commit(coord, ("t", 0, 30), pid=3, group="h")  # still open
    await coord.complete_transaction(1, EPOCH, commit=True)
    await coord.complete_transaction(2, EPOCH, commit=False)
    if clean:
        await coord.stop()
    node.close()

    again = Node(tmp_path, clock)
    coord = again.coord
    assert coord.committed("g", "t", 0) == offset(10)
    assert coord.committed("g", "t", 1) == offset(6)
    assert not coord.has_pending("g", "t", 0)
    assert not coord.has_pending("g", "t", 1)
    assert not coord.has_pending_offsets(1)
    assert not coord.has_pending_offsets(2)
    # The open transaction is the transaction coordinator's to finish after its restart.
    assert coord.has_pending_offsets(3)
    assert coord.has_pending("h", "t", 0)
    assert coord.committed("h", "t", 0) is None
    assert coord.group_exists("h")
    await coord.complete_transaction(3, EPOCH, commit=True)
    assert coord.committed("h", "t", 0) == offset(30)
    again.close()

    third = Node(tmp_path, clock)
    assert third.coord.committed("h", "t", 0) == offset(30)
    assert not third.coord.has_pending_offsets(3)
    third.close()


async def test_a_fenced_epoch_cannot_add_to_the_transaction(tmp_path) -> None:
    node = Node(tmp_path, ManualClock())
    coord = node.coord
    await txn_commit(coord, ("t", 0, 10))
    assert await coord.verify_transaction("g", "tx", PID, EPOCH) == err.NONE
    assert await coord.verify_transaction("g", "tx", PID, EPOCH - 1) == err.PRODUCER_FENCED
    assert await coord.verify_transaction("g", "tx", PID + 1, 0) == err.NONE
    node.close()


async def test_the_transaction_coordinator_decides_when_attached(tmp_path) -> None:
    node = Node(tmp_path, ManualClock())
    asked: list[tuple[str, int, int, int]] = []

    async def verifier(txn_id: str, pid: int, epoch: int, partition: int) -> int:
        asked.append((txn_id, pid, epoch, partition))
        return 48  # INVALID_TXN_STATE: the offsets partition is not in the transaction

    node.coord.transaction_verifier = verifier
    assert await node.coord.verify_transaction("g", "tx", PID, EPOCH) == 48
    assert asked == [("tx", PID, EPOCH, 0)]
    # Once its transaction is open here at that epoch, Kafka's log asks no more.
    await txn_commit(node.coord, ("t", 0, 1))
    assert await node.coord.verify_transaction("g", "other-id", PID, EPOCH) == err.NONE
    assert await node.coord.verify_transaction("g", "tx", PID, EPOCH + 1) == 48
    assert len(asked) == 2
    node.close()


async def test_txn_commit_member_rules(tmp_path) -> None:
    node = Node(tmp_path, ManualClock())
    coord = node.coord
    check = coord.validate_txn_commit
    # No group: anyone without a generation; a generation nobody handed out is refused.
    assert check("new", "", -1, None) == err.NONE
    assert check("new", "m", 1, None) == err.ILLEGAL_GENERATION
    first = await coord.join("g", join_request())
    assert first.error == err.MEMBER_ID_REQUIRED
    joined = await coord.join("g", join_request(first.member_id))
    member = joined.member_id
    assert (joined.error, joined.generation_id) == (err.NONE, 1)
    # Before v3 the request names no member: accepted while the group rebalances or not.
    assert check("g", "", -1, None) == err.NONE
    assert check("g", member, 1, None) == err.NONE  # completing the rebalance: still fine
    assert check("g", member, 2, None) == err.ILLEGAL_GENERATION
    assert check("g", "other", 1, None) == err.UNKNOWN_MEMBER_ID
    assert check("g", member, 1, "instance") == err.UNKNOWN_MEMBER_ID
    # A group that only has committed offsets has no members to name.
    await coord.commit("only-offsets", [("t", 0, offset(1))])
    assert check("only-offsets", "m", 1, None) == err.UNKNOWN_MEMBER_ID
    assert check("only-offsets", "", -1, None) == err.NONE
    node.close()


async def test_txn_commit_member_rules_of_a_consumer_protocol_group(tmp_path) -> None:
    """KIP-848 groups as Kafka 4.4 checks them: no member named (before v3) is accepted
    while members are in; a named member must be in with its exact epoch; a stale epoch is
    ILLEGAL_GENERATION, the only epoch error TxnOffsetCommit knows."""
    node = Node(tmp_path, ManualClock())
    coord = node.coord
    check = coord.validate_txn_commit
    joined = coord.consumer_heartbeat(
        "cg", HeartbeatRequest(member_id="m-1", member_epoch=0, subscribed=["t"])
    )
    assert joined.error == err.NONE
    epoch = joined.member_epoch
    assert check("cg", "", -1, None) == err.NONE
    assert check("cg", "stranger", 1, None) == err.UNKNOWN_MEMBER_ID
    assert check("cg", "m-1", epoch, None) == err.NONE
    assert check("cg", "m-1", epoch - 1, None) == err.ILLEGAL_GENERATION
    assert check("cg", "m-1", epoch + 1, None) == err.ILLEGAL_GENERATION
    assert check("cg", "m-1", -1, None) == err.ILLEGAL_GENERATION
    left = coord.consumer_heartbeat("cg", HeartbeatRequest(member_id="m-1", member_epoch=-1))
    assert left.error == err.NONE
    assert check("cg", "x", 1, None) == err.UNKNOWN_MEMBER_ID
    assert check("cg", "x", -1, None) == err.NONE
    node.close()


async def test_offset_delete_and_group_delete_remove_pending_offsets(tmp_path) -> None:
    clock = ManualClock()
    node = Node(tmp_path, clock)
    coord = node.coord
    await txn_commit(coord, ("t", 0, 10), ("t", 1, 11))
    assert coord.group_exists("g")  # pending offsets alone make the group exist
    assert [g.group_id for g in coord.list_groups()] == ["g"]
    errors = await coord.delete_offsets("g", [("t", 0)])
    assert errors == {("t", 0): err.NONE}
    assert not coord.has_pending("g", "t", 0)
    assert coord.has_pending("g", "t", 1)
    await coord.complete_transaction(PID, EPOCH, commit=True)
    assert coord.committed("g", "t", 0) is None  # deleted before the commit: stays deleted
    assert coord.committed("g", "t", 1) == offset(11)

    await txn_commit(coord, ("t", 0, 12), pid=PID + 1)
    assert await coord.delete_group("g") == err.NONE
    assert not coord.group_exists("g")
    assert coord.has_pending_offsets(PID + 1)  # its marker is still owed
    await coord.complete_transaction(PID + 1, EPOCH, commit=True)
    assert coord.committed("g", "t", 0) is None
    node.close()
    again = Node(tmp_path, clock)
    assert not again.coord.group_exists("g")
    assert again.coord.committed("g", "t", 0) is None
    again.close()


async def test_retention_keeps_offsets_and_groups_with_open_transactions(tmp_path) -> None:
    clock = ManualClock()
    settings = GroupSettings(
        initial_rebalance_delay_ms=0,
        offsets_retention_minutes=1,
        offsets_retention_check_interval_ms=1_000,
    )
    node = Node(tmp_path, clock, settings)
    coord = node.coord
    await coord.commit("g", [("t", 0, offset(5)), ("t", 1, offset(6))])
    await txn_commit(coord, ("t", 0, 10))
    await txn_commit(coord, ("t", 0, 11), pid=PID + 1, group="pending-only")
    clock.advance(120_000)
    expired = await coord.expire_offsets()
    assert expired == [("g", "t", 1)]
    assert coord.committed("g", "t", 0) == offset(5)
    for _ in range(3):
        clock.advance(1_000)
        coord.tick()
    assert coord.group_exists("g")
    assert coord.group_exists("pending-only")
    await coord.complete_transaction(PID, EPOCH, commit=True)
    await coord.complete_transaction(PID + 1, EPOCH, commit=False)
    assert coord.committed("g", "t", 0).offset == 10
    assert not coord.group_exists("pending-only")
    node.close()


async def test_deleted_topic_takes_its_pending_offsets_along(tmp_path) -> None:
    node = Node(tmp_path, ManualClock())
    coord = node.coord
    node.logs.create_topic("gone", 1, {})
    await txn_commit(coord, ("gone", 0, 10), ("t", 0, 1))
    node.logs.delete_topic("gone")
    assert await coord.prune_deleted_topics() == ["gone"]
    assert not coord.has_pending("g", "gone", 0)
    await coord.complete_transaction(PID, EPOCH, commit=True)
    assert coord.committed("g", "gone", 0) is None
    assert coord.committed("g", "t", 0) == offset(1)
    node.close()


async def test_transactional_offsets_survive_compaction(tmp_path) -> None:
    """The cleaner as the broker runs it (seeing the offsets topic's transactions): a
    committed transaction's offsets stay, an aborted one's go without taking the offsets
    committed before it along, and an open one's stay pending with the committed offset
    it would replace kept too (nothing at or past the LSO is cleaned)."""
    clock = ManualClock()
    node = Node(tmp_path, clock)
    coord = node.coord
    for n in range(3):  # superseded plain commits, for the cleaner to remove
        await coord.commit("g", [("t", 0, offset(n)), ("t", 1, offset(n))])
    await txn_commit(coord, ("t", 0, 10), pid=1)
    await coord.complete_transaction(1, EPOCH, commit=True)
    await txn_commit(coord, ("t", 0, 15), pid=2)
    await coord.complete_transaction(2, EPOCH, commit=False)
    plog = node.logs.log(OFFSETS_TOPIC, 0)
    plog.roll()  # everything so far lies below the LSO, in a cleanable segment
    await txn_commit(coord, ("t", 1, 20), pid=3)  # still open
    plog.roll()
    result = clean_log(plog, clock.now_ms(), force=True, transactions=node.producers)
    assert result is not None
    assert result.records_removed > 0
    node.close()

    again = Node(tmp_path, clock)
    coord = again.coord
    assert coord.committed("g", "t", 0) == offset(10)
    assert coord.committed("g", "t", 1) == offset(2)
    assert coord.has_pending("g", "t", 1)
    await coord.complete_transaction(3, EPOCH, commit=True)
    assert coord.committed("g", "t", 1) == offset(20)
    again.close()


async def test_handler_words_the_transaction_coordinators_answer_per_version(tmp_path) -> None:
    """TxnOffsetCommit through the real handler on a real broker assembly: "not in the
    transaction" is INVALID_TXN_STATE before v4 and TRANSACTION_ABORTABLE from v4; a fenced
    producer is INVALID_PRODUCER_EPOCH at every version; nothing is written then."""
    clock = ManualClock()
    logs = LogManager(tmp_path, fsync="always").open()
    logs.create_topic("t", 1, {})
    broker = await open_broker(BrokerConfig(data_dir=tmp_path, port=0), logs, clock)
    answer = {"code": err.NONE}

    async def verifier(txn_id: str, pid: int, epoch: int, partition: int) -> int:
        return answer["code"]

    broker.groups.transaction_verifier = verifier

    async def send(version: int) -> int:
        part = nested(
            ApiKey.TXN_OFFSET_COMMIT,
            version,
            "TxnOffsetCommitRequestPartition",
            partition_index=0,
            committed_offset=3,
            committed_metadata=None,
        )
        topic = nested(
            ApiKey.TXN_OFFSET_COMMIT,
            version,
            "TxnOffsetCommitRequestTopic",
            name="t",
            partitions=(part,),
        )
        req = request(
            ApiKey.TXN_OFFSET_COMMIT,
            version,
            transactional_id="tx",
            group_id="g",
            producer_id=PID,
            producer_epoch=EPOCH,
            topics=(topic,),
        )
        ctx = RequestContext(ApiKey.TXN_OFFSET_COMMIT, version, 1, "c", "127.0.0.1")
        response = await txn_offset_commit(broker, ctx, req)
        return int(response.topics[0].partitions[0].error_code)

    try:
        for code, by_version in (
            (120, [48, 48, 48, 48, 120]),  # TRANSACTION_ABORTABLE: no AddOffsetsToTxn
            (90, [47] * 5),  # PRODUCER_FENCED
            (49, [49] * 5),  # INVALID_PRODUCER_ID_MAPPING
        ):
            answer["code"] = code
            assert [await send(v) for v in range(5)] == by_version
            assert not broker.groups.has_pending_offsets(PID)
        answer["code"] = err.NONE
        assert await send(4) == err.NONE
        assert broker.groups.has_pending("g", "t", 0)
    finally:
        await close_broker(broker)
        logs.close()
