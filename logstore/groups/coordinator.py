"""The group coordinator: owns every group, the waits and timers, and committed offsets on disk.

Owns the classic groups (`state.ClassicGroup`) and KIP-848 groups (`consumer.ConsumerGroup`)
by id, the futures that park JoinGroup/SyncGroup requests until their group can answer,
the periodic tick that lets session and rebalance timeouts fire, and the committed-offset
table, which it persists to the compacted internal topic `__consumer_offsets` (through
`LogManager`, one batch per commit, durable before the commit is acknowledged) and replays
on start. Transactional offsets (TxnOffsetCommit) go to the same topic in a transactional
batch and stay pending (`groups/pending.py`), invisible to OffsetFetch, until
`complete_transaction` writes the producer's marker after them (commit: they become
committed; abort: they are dropped); a replay applies markers the same way. Group metadata
goes to the same topic (what to write: `groups/journal.py`) before the replies that depend
on it, so members keep their generation or epoch across a broker restart as they do on
Kafka; committed offsets expire after `offsets.retention.minutes` by Kafka's rules. It must
never parse or build wire messages (handlers do) and never decide a state transition
itself (the state modules do).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from logstore.clock import Clock, SystemClock
from logstore.groups import errors as err
from logstore.groups import offsets_log
from logstore.groups.consumer import (
    ConsumerGroup,
    HeartbeatRequest,
    HeartbeatResult,
    invalid_heartbeat,
)
from logstore.groups.journal import GroupJournal
from logstore.groups.offsets import (
    OFFSETS_TOPIC,
    OFFSETS_TOPIC_CONFIGS,
    CommittedOffset,
    OffsetTable,
    decode_key,
    decode_value,
    records_for,
)
from logstore.groups.pending import PendingOffsets, ProducerOffsets
from logstore.groups.settings import GroupSettings
from logstore.groups.state import (
    ClassicGroup,
    GroupState,
    JoinReply,
    JoinRequest,
    Reply,
    SyncReply,
)
from logstore.records import BatchHeader, build_batch, parse_header
from logstore.records.control import build_control_batch

log = logging.getLogger(__name__)

TICK_S = 0.1
# How often committed offsets of deleted topics are looked for and tombstoned.
PRUNE_EVERY_TICKS = 50
# A parked JoinGroup/SyncGroup never outlives this (the client has given up by then).
_MAX_PARK_S = 600.0


# Told of every batch appended to `__consumer_offsets` with a producer id (the producer
# state of that partition) and of every marker (long-polling fetchers wake up).
RecordProducer = Callable[[Any, BatchHeader, int], None]
NotifyAppend = Callable[[str, int], None]
# (transactional id, producer id, producer epoch, `__consumer_offsets` partition) -> the
# transaction coordinator's verification, as Kafka's answers it: NONE, or
# INVALID_PRODUCER_ID_MAPPING (unknown id or producer), PRODUCER_FENCED (another epoch),
# CONCURRENT_TRANSACTIONS (it is completing), TRANSACTION_ABORTABLE (the partition is not in
# the ongoing transaction: no AddOffsetsToTxn). The handler words it for its API version.
TransactionVerifier = Callable[[str, int, int, int], Awaitable[int]]


def _ignore_record(plog: Any, header: BatchHeader, base_offset: int) -> None:
    return None


def _ignore_append(topic: str, partition: int) -> None:
    return None


@dataclass(frozen=True)
class GroupSummary:
    group_id: str
    protocol_type: str
    state: str
    group_type: str  # "classic" or "consumer"


class GroupCoordinator:
    def __init__(
        self,
        logs: Any,
        clock: Clock | None = None,
        settings: GroupSettings | None = None,
        *,
        record_producer: RecordProducer = _ignore_record,
        notify_append: NotifyAppend = _ignore_append,
    ) -> None:
        self._logs = logs
        self._record_producer = record_producer
        self._notify_append = notify_append
        # Set by whoever runs the transaction coordinator; without it TxnOffsetCommit is
        # not checked against the transaction (Kafka without partition verification).
        self.transaction_verifier: TransactionVerifier | None = None
        self.clock: Clock = clock or SystemClock()
        self.settings = settings or GroupSettings()
        self.classic: dict[str, ClassicGroup] = {}
        self.consumer: dict[str, ConsumerGroup] = {}
        self.offsets = OffsetTable()
        self.pending = PendingOffsets()
        # Transactions whose offsets markers are being written: still pending to readers
        # (require_stable answers UNSTABLE_OFFSET_COMMIT) until the marker is durable.
        self._ending: dict[int, ProducerOffsets] = {}
        self._parked: dict[tuple[str, str, str], asyncio.Future[Reply]] = {}
        self._task: asyncio.Task[None] | None = None
        # group id -> when it was first seen empty with nothing committed
        self._empty_since: dict[str, int] = {}
        self._journal = GroupJournal()
        self._next_retention_check = 0

    @property
    def consumer_heartbeat_interval_ms(self) -> int:
        return self.settings.consumer_heartbeat_interval_ms

    # -- lifecycle --------------------------------------------------------------------

    def load(self) -> None:
        """Create `__consumer_offsets` if needed and replay it: committed offsets into the
        offset table, group metadata into the groups a restart brings back."""
        if self._logs.topic(OFFSETS_TOPIC) is None:
            self._logs.create_topic(OFFSETS_TOPIC, 1, dict(OFFSETS_TOPIC_CONFIGS))
        info = self._logs.topic(OFFSETS_TOPIC)
        for partition in range(info.partitions):
            plog = self._logs.log(OFFSETS_TOPIC, partition)
            if plog.recovery_error is not None:
                continue  # unreadable: the group handlers answer COORDINATOR_NOT_AVAILABLE
            self._replay(partition, plog)
        now = self.now()
        classic, consumer = self._journal.restore(
            self._new_classic, self._new_consumer, now, self.clock.now_ms()
        )
        self.classic.update(classic)
        self.consumer.update(consumer)
        self._next_retention_check = now + self.settings.offsets_retention_check_interval_ms

    def _replay(self, partition: int, plog: Any) -> None:
        """Apply one partition's records, oldest first: group records to the journal,
        plain offsets to the table, transactional ones to `pending` until their marker."""
        for item in offsets_log.read(plog):
            if isinstance(item, offsets_log.Marker):
                self._end_transaction(
                    item.producer_id, item.commit, self.pending.take(item.producer_id)
                )
                continue
            if item.key is None or self._journal.take(item.key, item.value):
                continue
            key = decode_key(item.key)
            if key is None:
                continue
            if item.value is None:
                self._tombstone(*key)
            elif item.producer_id >= 0:
                value = decode_value(item.value)
                self.pending.add(
                    item.producer_id, item.producer_epoch, partition, key, value, item.offset
                )
            else:
                self.offsets.put(*key, decode_value(item.value), item.offset)

    def _tombstone(self, group_id: str, topic: str, partition: int) -> None:
        """A tombstone removes the committed offset and every open transaction's one."""
        self.offsets.put(group_id, topic, partition, None)
        self.pending.discard(group_id, topic, partition)

    def _new_consumer(self, group_id: str) -> ConsumerGroup:
        return ConsumerGroup(
            group_id,
            session_timeout_ms=self.settings.consumer_session_timeout_ms,
            heartbeat_interval_ms=self.settings.consumer_heartbeat_interval_ms,
            max_size=self.settings.consumer_max_size,
        )

    def _new_classic(self, group_id: str) -> ClassicGroup:
        return ClassicGroup(
            group_id,
            initial_rebalance_delay_ms=self.settings.initial_rebalance_delay_ms,
            max_size=self.settings.max_size,
        )

    async def start(self) -> None:
        self.load()
        self._task = asyncio.create_task(self._run(), name="group-coordinator")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
            try:
                await self.persist_groups()
            except Exception:
                log.exception("could not write group metadata on stop")
        for fut in self._parked.values():
            if not fut.done():
                fut.cancel()
        self._parked.clear()

    async def _run(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(TICK_S)
            ticks += 1
            try:
                self.tick()
                await self.run_due_checks()
                if ticks % PRUNE_EVERY_TICKS == 0:
                    await self.prune_deleted_topics()
            except Exception:  # a bug in one tick must not stop every timer
                log.exception("group coordinator tick failed")

    async def run_due_checks(self) -> None:
        """Write changed group metadata; run the retention pass when its interval is due."""
        await self.persist_groups()
        if self.now() >= self._next_retention_check:
            await self.expire_offsets()

    def now(self) -> int:
        return self.clock.monotonic_ms()

    def tick(self) -> None:
        """Fire due session/rebalance timeouts in every group."""
        now = self.now()
        for group in list(self.classic.values()):
            before = (group.state, group.generation_id, len(group.members))
            self._deliver(group.group_id, group.tick(now))
            if before != (group.state, group.generation_id, len(group.members)):
                self._journal.touch(group.group_id)
            if self._expired(group.group_id, self._forgettable(group), now):
                del self.classic[group.group_id]
                self._journal.touch(group.group_id)
        for cgroup in list(self.consumer.values()):
            if cgroup.tick(now):
                self._journal.touch_consumer(cgroup.group_id)
            idle = not cgroup.members and not self._has_offsets(cgroup.group_id)
            if self._expired(cgroup.group_id, idle, now):
                del self.consumer[cgroup.group_id]
                self._journal.touch_consumer(cgroup.group_id)

    def _expired(self, group_id: str, forgettable: bool, now: int) -> bool:
        """Kafka's periodic group cleanup: an empty group with nothing committed stays
        listed (state Empty) until a cleanup pass finds it so, then it is gone. Keeps
        memory bounded when clients use throwaway group ids."""
        if not forgettable:
            self._empty_since.pop(group_id, None)
            return False
        since = self._empty_since.setdefault(group_id, now)
        if now - since < self.settings.offsets_retention_check_interval_ms:
            return False
        del self._empty_since[group_id]
        return True

    def _forgettable(self, group: ClassicGroup) -> bool:
        """Empty, no member on its way in, nothing committed, nobody parked on it."""
        return (
            group.state is GroupState.EMPTY
            and not group.members
            and not group.pending_members
            and not self._has_offsets(group.group_id)
            and not any(key[0] == group.group_id for key in self._parked)
        )

    # -- parking ----------------------------------------------------------------------

    def _deliver(self, group_id: str, replies: Iterable[Reply]) -> dict[tuple[str, str], Reply]:
        """Resolve parked requests; returns the replies nobody was waiting for."""
        unclaimed: dict[tuple[str, str], Reply] = {}
        for reply in replies:
            kind = "join" if isinstance(reply, JoinReply) else "sync"
            fut = self._parked.pop((group_id, kind, reply.member_id), None)
            if fut is not None and not fut.done():
                fut.set_result(reply)
            else:
                unclaimed[(kind, reply.member_id)] = reply
        return unclaimed

    def _displace(self, group_id: str, kind: str, member_id: str) -> None:
        """A member re-sent a request it was already waiting on: end the older one."""
        fut = self._parked.pop((group_id, kind, member_id), None)
        if fut is not None and not fut.done():
            cls = JoinReply if kind == "join" else SyncReply
            fut.set_result(cls(member_id, err.REBALANCE_IN_PROGRESS))

    async def _park(self, group_id: str, kind: str, member_id: str, timeout_s: float) -> Reply:
        fut: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._parked[(group_id, kind, member_id)] = fut
        try:
            return await asyncio.wait_for(fut, min(timeout_s, _MAX_PARK_S))
        except TimeoutError:
            cls = JoinReply if kind == "join" else SyncReply
            return cls(member_id, err.REBALANCE_IN_PROGRESS)
        finally:
            if self._parked.get((group_id, kind, member_id)) is fut:
                del self._parked[(group_id, kind, member_id)]

    # -- classic protocol -------------------------------------------------------------

    def _classic(self, group_id: str, create: bool) -> ClassicGroup | None:
        group = self.classic.get(group_id)
        if group is None and create:
            group = self._new_classic(group_id)
            self.classic[group_id] = group
        return group

    def _wall(self, monotonic_ms: int) -> int:
        """The wall-clock time of a monotonic instant (persisted state timestamps)."""
        return self.clock.now_ms() - (self.now() - monotonic_ms)

    async def persist_groups(self) -> None:
        """Write what changed in the touched groups (metadata of settled classic groups,
        KIP-848 groups, tombstones of groups that are gone); durable before it returns."""
        if self._logs.log(OFFSETS_TOPIC, 0).offline:
            # Nothing is written until a restart recovers the log (the handlers answer
            # COORDINATOR_NOT_AVAILABLE meanwhile); each tick would only log the failure.
            return
        records = self._journal.pending(self.classic, self.consumer, self._wall)
        if not records:
            return
        try:
            await self._append(records)
        except BaseException:
            self._journal.failed()
            raise
        self._journal.written()

    async def persist_quietly(self, group_id: str) -> None:
        """`persist_groups` before a reply that goes out either way: if the write fails,
        the member only loses its place across a restart (it rejoins then)."""
        try:
            await self.persist_groups()
        except Exception:
            log.exception("could not write the metadata of group %s", group_id)

    async def join(self, group_id: str, req: JoinRequest) -> JoinReply:
        if not group_id:
            return JoinReply(req.member_id, err.INVALID_GROUP_ID)
        if group_id in self.consumer and self.consumer[group_id].members:
            return JoinReply(req.member_id, err.INCONSISTENT_GROUP_PROTOCOL)
        low, high = self.settings.min_session_timeout_ms, self.settings.max_session_timeout_ms
        if not low <= req.session_timeout_ms <= high:
            return JoinReply(req.member_id, err.INVALID_SESSION_TIMEOUT)
        group = self._classic(group_id, create=True)
        assert group is not None
        if req.member_id:
            self._displace(group_id, "join", req.member_id)
        replies = group.join(req, self.now())
        self._journal.touch(group_id)
        if group.state is GroupState.STABLE:
            # A static member took over its old place: durable before it is told so.
            await self.persist_quietly(group_id)
        unclaimed = self._deliver(group_id, replies)
        mine = unclaimed.pop(("join", req.member_id), None)
        if isinstance(mine, JoinReply):
            return mine
        timeout = (req.rebalance_timeout_ms + 5_000) / 1000
        reply = await self._park(group_id, "join", req.member_id, timeout)
        assert isinstance(reply, JoinReply)
        return reply

    async def sync(
        self,
        group_id: str,
        member_id: str,
        generation_id: int,
        assignments: dict[str, bytes],
        group_instance_id: str | None = None,
    ) -> SyncReply:
        if not group_id:
            return SyncReply(member_id, err.INVALID_GROUP_ID)
        group = self.classic.get(group_id)
        if group is None:
            return SyncReply(member_id, err.UNKNOWN_MEMBER_ID)
        self._displace(group_id, "sync", member_id)
        replies = group.sync(member_id, generation_id, assignments, self.now(), group_instance_id)
        if replies:
            # Kafka makes the assignment durable before any member learns it.
            self._journal.touch(group_id)
            await self.persist_quietly(group_id)
        unclaimed = self._deliver(group_id, replies)
        mine = unclaimed.pop(("sync", member_id), None)
        if isinstance(mine, SyncReply):
            return mine
        member = group.members.get(member_id)
        timeout = ((member.rebalance_timeout_ms if member else 60_000) + 5_000) / 1000
        reply = await self._park(group_id, "sync", member_id, timeout)
        assert isinstance(reply, SyncReply)
        return reply

    def heartbeat(
        self, group_id: str, member_id: str, generation_id: int, instance_id: str | None = None
    ) -> int:
        if not group_id:
            return err.INVALID_GROUP_ID
        group = self.classic.get(group_id)
        if group is None:
            return err.UNKNOWN_MEMBER_ID
        return group.heartbeat(member_id, generation_id, self.now(), instance_id)

    def leave(self, group_id: str, leavers: list[tuple[str, str | None]]) -> tuple[int, list[int]]:
        """(the request's error, each leaver's); no leaver's when the request's is set."""
        if not group_id:
            return err.INVALID_GROUP_ID, []
        group = self.classic.get(group_id)
        if group is None:
            return err.NONE, [err.UNKNOWN_MEMBER_ID for _ in leavers]
        errors, replies = group.leave(leavers, self.now())
        self._journal.touch(group_id)
        self._deliver(group_id, replies)
        return err.NONE, errors

    # -- KIP-848 consumer protocol ----------------------------------------------------

    def consumer_heartbeat(self, group_id: str, req: HeartbeatRequest) -> HeartbeatResult:
        if not group_id:
            return HeartbeatResult(err.INVALID_GROUP_ID, "group id must not be empty")
        refused = invalid_heartbeat(req)
        if refused is not None:
            return refused
        classic = self.classic.get(group_id)
        if classic is not None and classic.members:
            return HeartbeatResult(
                err.GROUP_ID_NOT_FOUND, f"group {group_id} is a classic group with members"
            )
        group = self.consumer.get(group_id)
        if group is None:
            if req.member_epoch != 0:
                # Kafka's answer to a member of a group it does not know.
                return HeartbeatResult(
                    err.GROUP_ID_NOT_FOUND, f"Consumer group {group_id} not found."
                )
            group = self._new_consumer(group_id)
            self.consumer[group_id] = group
        self._journal.touch_consumer(group_id)
        return group.heartbeat(req, self._resolve_topic, self.now(), self._topic_names)

    def _topic_names(self) -> list[str]:
        return [info.name for info in self._logs.topics()]

    def _resolve_topic(self, name: str) -> tuple[uuid.UUID, int] | None:
        info = self._logs.topic(name)
        if info is None:
            return None
        return info.topic_id, info.partitions

    def topic_name(self, topic_id: uuid.UUID) -> str | None:
        info = self._logs.topic_by_id(topic_id)
        return None if info is None else info.name

    def topic_id(self, name: str) -> uuid.UUID | None:
        info = self._logs.topic(name)
        return None if info is None else info.topic_id

    # -- committed offsets ------------------------------------------------------------

    def validate_commit(
        self, group_id: str, member_id: str, generation: int, instance_id: str | None
    ) -> int:
        """Kafka's rules for who may commit: members of the current generation, or anyone
        (an admin, a group-less consumer) while the group has no members."""
        cgroup = self.consumer.get(group_id)
        if cgroup is not None and cgroup.members:
            member = cgroup.members.get(member_id)
            if member is None:
                return err.UNKNOWN_MEMBER_ID
            if generation not in (member.epoch, member.previous_epoch):
                return err.STALE_MEMBER_EPOCH
            return err.NONE
        group = self.classic.get(group_id)
        if group is None:
            # No live group: a group-less consumer or an admin may commit. A group Kafka
            # would know of (committed offsets, or a KIP-848 group whose members left) is
            # an empty group: nobody is its member. A group that does not exist at all is
            # GROUP_ID_NOT_FOUND (OffsetCommit before v9 words it ILLEGAL_GENERATION).
            if generation < 0:
                return err.NONE
            if cgroup is not None or self._has_offsets(group_id):
                return err.UNKNOWN_MEMBER_ID
            return err.GROUP_ID_NOT_FOUND
        if group.state is GroupState.DEAD:
            return err.COORDINATOR_NOT_AVAILABLE
        if generation >= 0 or member_id or instance_id is not None:
            if instance_id is not None:
                known = group.static_members.get(instance_id)
                if known is not None and known != member_id:
                    return err.FENCED_INSTANCE_ID
            if member_id not in group.members:
                return err.UNKNOWN_MEMBER_ID
            if generation != group.generation_id:
                return err.ILLEGAL_GENERATION
        elif group.state is not GroupState.EMPTY:
            return err.UNKNOWN_MEMBER_ID  # an admin reset while the group has members
        else:
            return err.NONE
        if group.state is GroupState.COMPLETING_REBALANCE:
            return err.REBALANCE_IN_PROGRESS
        group.members[member_id].last_heartbeat_ms = self.now()
        return err.NONE

    async def commit(
        self, group_id: str, entries: list[tuple[str, int, CommittedOffset | None]]
    ) -> None:
        """Persist then apply offsets (None = delete); durable before it returns."""
        if not entries:
            return
        base = await self._append(list(records_for(group_id, entries)))
        for i, (topic, partition, value) in enumerate(entries):
            if value is None:
                self._tombstone(group_id, topic, partition)
            else:
                self.offsets.put(group_id, topic, partition, value, base + i)

    async def _append(self, records: list[tuple[bytes, bytes | None]]) -> int:
        """Append one batch of records, durable before it returns; its base offset."""
        plog = self._logs.log(OFFSETS_TOPIC, 0)
        batch = build_batch(records, timestamp=self.clock.now_ms())
        result = plog.append(batch)
        await self._logs.wait_durable(plog, result.last_offset)
        return result.base_offset

    # -- transactional offsets --------------------------------------------------------

    def validate_txn_commit(
        self, group_id: str, member_id: str, generation: int, instance_id: str | None
    ) -> int:
        """Kafka's rules for TxnOffsetCommit: like OffsetCommit, but versions before 3
        carry no member, so a commit without one is taken whatever the group's state;
        a member's stale epoch is ILLEGAL_GENERATION (the API knows no other)."""
        cgroup = self.consumer.get(group_id)
        if cgroup is not None and (cgroup.members or group_id not in self.classic):
            if generation < 0 and not cgroup.members:
                return err.NONE
            if generation == -1 and not member_id and instance_id is None:
                return err.NONE
            member = cgroup.members.get(member_id)
            if member is None:
                return err.UNKNOWN_MEMBER_ID
            return err.NONE if generation == member.epoch else err.ILLEGAL_GENERATION
        group = self.classic.get(group_id)
        if group is None:
            if generation < 0:
                return err.NONE
            if not self._has_offsets(group_id):
                return err.ILLEGAL_GENERATION
            return err.UNKNOWN_MEMBER_ID  # a group of commits only: it has no members
        if group.state is GroupState.DEAD:
            return err.COORDINATOR_NOT_AVAILABLE
        if generation < 0 and group.state is GroupState.EMPTY:
            return err.NONE
        if generation < 0 and not member_id and instance_id is None:
            return err.NONE
        if instance_id is not None:
            known = group.static_members.get(instance_id)
            if known is None:
                return err.UNKNOWN_MEMBER_ID
            if known != member_id:
                return err.FENCED_INSTANCE_ID
        if member_id not in group.members:
            return err.UNKNOWN_MEMBER_ID
        if generation != group.generation_id:
            return err.ILLEGAL_GENERATION
        return err.NONE

    async def verify_transaction(
        self, group_id: str, transactional_id: str, producer_id: int, producer_epoch: int
    ) -> int:
        """Whether the producer may write offsets in its transaction now (an error code,
        see `TransactionVerifier`): never with an epoch older than the one its pending
        offsets already carry (fenced, as Kafka's log refuses it); without the transaction
        coordinator's word while its transaction is open here at that epoch; otherwise
        the transaction coordinator's word when one is attached."""
        epoch = self.pending.epoch(producer_id)
        if epoch is not None and producer_epoch < epoch:
            return err.PRODUCER_FENCED
        if epoch == producer_epoch:
            # Its transaction is already open on this partition: Kafka's log skips the
            # verification then (whatever transactional id the request names).
            return err.NONE
        if self.transaction_verifier is None:
            return err.NONE
        return await self.transaction_verifier(
            transactional_id, producer_id, producer_epoch, self.offsets_partition(group_id)
        )

    def offsets_partition(self, group_id: str) -> int:
        """The `__consumer_offsets` partition a group's records go to."""
        return 0

    async def commit_transactional(
        self,
        group_id: str,
        producer_id: int,
        producer_epoch: int,
        entries: list[tuple[str, int, CommittedOffset]],
    ) -> None:
        """Write offsets as part of the producer's transaction (a transactional batch in
        `__consumer_offsets`), durable before it returns; they stay pending, invisible to
        OffsetFetch, until `complete_transaction`."""
        if not entries:
            return
        partition = self.offsets_partition(group_id)
        plog = self._logs.log(OFFSETS_TOPIC, partition)
        batch = build_batch(
            list(records_for(group_id, entries)),
            timestamp=self.clock.now_ms(),
            producer_id=producer_id,
            producer_epoch=producer_epoch,
            transactional=True,
        )
        result = plog.append(batch)
        self._record_producer(plog, parse_header(batch), result.base_offset)
        # Pending from the moment they are in the log, as a replay would find them: an
        # EndTxn arriving during the wait below then writes the marker they need.
        for i, (topic, p, value) in enumerate(entries):
            key = (group_id, topic, p)
            self.pending.add(
                producer_id, producer_epoch, partition, key, value, result.base_offset + i
            )
        await self._logs.wait_durable(plog, result.last_offset)

    def has_pending_offsets(self, producer_id: int) -> bool:
        """Whether the producer's open transaction holds offsets here (it needs a marker)."""
        return self.pending.has_producer(producer_id) or producer_id in self._ending

    def has_pending(self, group_id: str, topic: str, partition: int) -> bool:
        """Whether an open (or ending) transaction holds an offset of this partition for
        the group."""
        key = (group_id, topic, partition)
        return self.pending.has(*key) or any(key in e.offsets for e in self._ending.values())

    async def complete_transaction(
        self, producer_id: int, producer_epoch: int, *, commit: bool, coordinator_epoch: int = 0
    ) -> None:
        """End the producer's transaction here: its marker into every `__consumer_offsets`
        partition holding its pending offsets, durable, then those offsets committed
        (where newer than what is committed) or dropped. Nothing to do without pending
        offsets; a failed write leaves them pending for the retry."""
        entry = self.pending.take(producer_id)
        if entry is None:
            return
        self._ending[producer_id] = entry
        try:
            for partition in sorted(entry.partitions):
                plog = self._logs.log(OFFSETS_TOPIC, partition)
                marker = build_control_batch(
                    producer_id,
                    producer_epoch,
                    commit=commit,
                    coordinator_epoch=coordinator_epoch,
                    timestamp=self.clock.now_ms(),
                )
                result = plog.append(marker)
                self._record_producer(plog, parse_header(marker), result.base_offset)
                await self._logs.wait_durable(plog, result.last_offset)
                self._notify_append(OFFSETS_TOPIC, partition)
        except BaseException:
            self.pending.restore(producer_id, entry)
            raise
        finally:
            del self._ending[producer_id]
        self._end_transaction(producer_id, commit, entry)

    def _end_transaction(
        self, producer_id: int, commit: bool, entry: ProducerOffsets | None
    ) -> None:
        """Apply a marker to what `pending.take` returned: a commit makes each offset
        committed unless a later record (a plain commit after it) already is."""
        if entry is None or not commit:
            return
        for (group_id, topic, partition), pending in entry.offsets.items():
            if pending.record_offset > self.offsets.record_offset(group_id, topic, partition):
                self.offsets.put(group_id, topic, partition, pending.value, pending.record_offset)

    def _has_offsets(self, group_id: str) -> bool:
        """Committed or pending offsets keep a group in existence."""
        return self.offsets.has_group(group_id) or self.pending.has_group(group_id)

    def committed(self, group_id: str, topic: str, partition: int) -> CommittedOffset | None:
        return self.offsets.get(group_id, topic, partition)

    def committed_all(self, group_id: str) -> dict[tuple[str, int], CommittedOffset]:
        return self.offsets.group(group_id)

    def subscribed_topics(self, group_id: str) -> set[str] | None:
        """Topics the group's active members consume; None when the group has no members."""
        cgroup = self.consumer.get(group_id)
        if cgroup is not None and cgroup.members:
            return cgroup.subscribed_topics()
        group = self.classic.get(group_id)
        if group is None or not group.members:
            return None
        topics: set[str] = set()
        for m in group.members.values():
            for _, metadata in m.protocols:
                topics |= _subscription_topics(metadata)
        return topics

    async def delete_offsets(
        self, group_id: str, partitions: list[tuple[str, int]]
    ) -> dict[tuple[str, int], int]:
        subscribed = self.subscribed_topics(group_id)
        errors: dict[tuple[str, int], int] = {}
        to_delete: list[tuple[str, int, CommittedOffset | None]] = []
        for topic, partition in partitions:
            if subscribed is not None and topic in subscribed:
                errors[(topic, partition)] = err.GROUP_SUBSCRIBED_TO_TOPIC
            else:
                errors[(topic, partition)] = err.NONE
                if self.offsets.get(group_id, topic, partition) is not None or self.has_pending(
                    group_id, topic, partition
                ):
                    to_delete.append((topic, partition, None))
        await self.commit(group_id, to_delete)
        return errors

    # -- admin ------------------------------------------------------------------------

    def group_exists(self, group_id: str) -> bool:
        return group_id in self.classic or group_id in self.consumer or self._has_offsets(group_id)

    def list_groups(self) -> list[GroupSummary]:
        out: dict[str, GroupSummary] = {}
        for gid in self.offsets.groups() + self.pending.groups():
            out[gid] = GroupSummary(gid, "", "Empty", "classic")  # Kafka's "simple" group
        for gid, group in self.classic.items():
            if group.state is GroupState.DEAD:
                continue
            if not group.members and not self._has_offsets(gid) and gid in self.consumer:
                continue
            out[gid] = GroupSummary(
                gid, group.protocol_type or "consumer", group.state.value, "classic"
            )
        for gid, cgroup in self.consumer.items():
            if cgroup.members or gid not in self.classic:
                out[gid] = GroupSummary(gid, "consumer", cgroup.state, "consumer")
        return sorted(out.values(), key=lambda g: g.group_id)

    def group_type(self, group_id: str) -> str | None:
        cgroup = self.consumer.get(group_id)
        if cgroup is not None and (cgroup.members or group_id not in self.classic):
            return "consumer"
        if group_id in self.classic or self._has_offsets(group_id):
            return "classic"
        return None

    async def delete_group(self, group_id: str) -> int:
        if not self.group_exists(group_id):
            return err.GROUP_ID_NOT_FOUND
        group = self.classic.get(group_id)
        cgroup = self.consumer.get(group_id)
        if (group is not None and group.members) or (cgroup is not None and cgroup.members):
            return err.NON_EMPTY_GROUP
        # Kafka deletes the open transactions' offsets of the group too.
        keys = set(self.offsets.group(group_id)) | self.pending.keys_of(group_id)
        entries: list[tuple[str, int, CommittedOffset | None]] = [
            (t, p, None) for (t, p) in sorted(keys)
        ]
        await self.commit(group_id, entries)
        self.classic.pop(group_id, None)
        self.consumer.pop(group_id, None)
        self._journal.touch(group_id)
        self._journal.touch_consumer(group_id)
        await self.persist_groups()
        return err.NONE

    # -- offset retention -------------------------------------------------------------

    def _expiry_rule(self, group_id: str) -> tuple[int | None, set[str]] | None:
        """Kafka's offset expiration condition for a group: (the time every offset's
        retention counts from, or None for each offset's commit time; topics whose
        offsets are kept regardless), or None when no offset of the group may expire."""
        cgroup = self.consumer.get(group_id)
        if cgroup is not None and cgroup.members:
            return None, cgroup.subscribed_topics()
        group = self.classic.get(group_id)
        if group is None or group.protocol_type is None:
            return None, set()  # standalone commits: from each commit
        if group.state is GroupState.EMPTY:
            return self._wall(group.state_since_ms), set()
        if group.state is GroupState.STABLE and group.protocol_type == "consumer":
            return None, self.subscribed_topics(group_id) or set()
        return None

    async def expire_offsets(self) -> list[tuple[str, str, int]]:
        """One retention pass: tombstone (durably) every committed offset older than
        `offsets.retention.minutes` by Kafka's rules, then forget groups left with no
        members and no offsets. Returns the (group, topic, partition) keys expired."""
        now_wall = self.clock.now_ms()
        self._next_retention_check = self.now() + self.settings.offsets_retention_check_interval_ms
        retention = self.settings.offsets_retention_ms
        expired: list[tuple[str, str, int]] = []
        for group_id in self.offsets.groups():
            rule = self._expiry_rule(group_id)
            if rule is None:
                continue
            since, kept = rule
            for (topic, partition), value in self.offsets.group(group_id).items():
                base = value.commit_timestamp if since is None else since
                # An offset an open transaction is about to replace is kept until it ends.
                if (
                    topic not in kept
                    and now_wall - base >= retention
                    and not self.has_pending(group_id, topic, partition)
                ):
                    expired.append((group_id, topic, partition))
        by_group: dict[str, list[tuple[str, int, CommittedOffset | None]]] = {}
        for group_id, topic, partition in expired:
            by_group.setdefault(group_id, []).append((topic, partition, None))
        for group_id, entries in by_group.items():
            await self.commit(group_id, entries)
            group = self.classic.get(group_id)
            if group is not None and self._forgettable(group):
                del self.classic[group_id]
                self._journal.touch(group_id)
            cgroup = self.consumer.get(group_id)
            if cgroup is not None and not cgroup.members and not self._has_offsets(group_id):
                del self.consumer[group_id]
                self._journal.touch_consumer(group_id)
        await self.persist_groups()
        return expired

    async def prune_deleted_topics(self) -> list[str]:
        """Tombstone every group's offsets of topics that no longer exist (the broker
        deletes topics without telling us); returns the topics pruned."""
        gone = sorted(
            (
                {t for g in self.offsets.groups() for (t, _) in self.offsets.group(g)}
                | {t for g in self.pending.groups() for (t, _) in self.pending.keys_of(g)}
            )
            - {info.name for info in self._logs.topics()}
        )
        for topic in gone:
            await self.forget_topic(topic)
        return gone

    async def forget_topic(self, topic: str) -> None:
        """A topic was deleted: drop (durably) every group's offsets for it."""
        by_group: dict[str, set[tuple[str, int, CommittedOffset | None]]] = {}
        for group_id, t, p in self.offsets.forget_topic(topic) + self.pending.discard_topic(topic):
            by_group.setdefault(group_id, set()).add((t, p, None))
        for group_id, entries in by_group.items():
            await self._append(list(records_for(group_id, sorted(entries, key=lambda e: e[1]))))


def _subscription_topics(metadata: bytes) -> set[str]:
    """Topic names from a consumer-protocol Subscription (version, topics[], ...)."""
    try:
        (count,) = struct.unpack_from(">i", metadata, 2)
        pos = 6
        topics = set()
        for _ in range(max(count, 0)):
            (n,) = struct.unpack_from(">h", metadata, pos)
            pos += 2
            topics.add(metadata[pos : pos + n].decode())
            pos += n
        return topics
    except (struct.error, UnicodeDecodeError):
        return set()
