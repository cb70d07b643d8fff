"""The transaction coordinator: transactional ids, their producers and transactions.

Owns what InitProducerId (with a transactional id), AddPartitionsToTxn, AddOffsetsToTxn,
EndTxn, ListTransactions and DescribeTransactions decide, one transactional id at a time
(a lock per id), every change durable in `__transaction_state` before it is answered;
writing the markers that end a transaction into its data partitions (the group
coordinator ends its offsets), after EndTxn is answered as in Kafka: the client waits for
the decision, the markers follow; aborting and fencing transactions past their timeout;
expiring idle ids; replaying the log at start. Error codes are the newest-version ones
(PRODUCER_FENCED); handlers word them for older versions. It must never parse requests
or know which API version asked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from logstore import error_codes as ec
from logstore.clock import Clock
from logstore.groups.offsets import OFFSETS_TOPIC
from logstore.groups.offsets_log import Entry
from logstore.groups.offsets_log import read as read_log
from logstore.producers.manager import MAX_EPOCH
from logstore.records import build_batch
from logstore.transactions.epoch import epoch_at_start
from logstore.transactions.markers import append_marker
from logstore.transactions.state import TxnMetadata, TxnState
from logstore.transactions.txn_log import (
    TRANSACTION_TOPIC,
    TRANSACTION_TOPIC_CONFIGS,
    decode_key,
    decode_value,
    encode_key,
    encode_value,
)

log = logging.getLogger(__name__)

S = TxnState
NO_PRODUCER = -1


@dataclass(frozen=True)
class TxnSettings:
    """Kafka's transaction.* broker settings."""

    max_timeout_ms: int = 900_000
    id_expiration_ms: int = 604_800_000
    cleanup_interval_ms: int = 10_000


@dataclass(frozen=True)
class InitResult:
    error: int
    producer_id: int = NO_PRODUCER
    producer_epoch: int = -1


class TransactionCoordinator:
    def __init__(
        self,
        logs: Any,
        producers: Any,
        groups: Any,
        clock: Clock,
        settings: TxnSettings | None = None,
        *,
        notify_append: Callable[[str, int], None] = lambda topic, partition: None,
    ) -> None:
        self._logs = logs
        self._producers = producers
        self._groups = groups
        self._clock = clock
        self.settings = settings or TxnSettings()
        self._notify = notify_append
        self._txns: dict[str, TxnMetadata] = {}
        self._by_producer: dict[int, str] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._completions: set[asyncio.Task[None]] = set()
        self.epoch = 0  # written into markers: see transactions/epoch.py

    # -- start ------------------------------------------------------------------------

    def load(self) -> None:
        """Create `__transaction_state` if needed and replay it (the last record of each
        id wins; a tombstone forgets it)."""
        if self._logs.topic(TRANSACTION_TOPIC) is None:
            self._logs.create_topic(TRANSACTION_TOPIC, 1, dict(TRANSACTION_TOPIC_CONFIGS))
        plog = self._logs.log(TRANSACTION_TOPIC, 0)
        if plog.recovery_error is not None:
            # Unreadable: every transaction API answers COORDINATOR_NOT_AVAILABLE rather
            # than forgetting the transactions it holds.
            log.error("__transaction_state is offline: the transaction coordinator is not")
            return
        directory = Path(self._logs.state_dir("transactions"))
        self.epoch = epoch_at_start(directory, in_use=plog.log_end_offset > 0)
        for item in read_log(plog):
            if not isinstance(item, Entry) or item.key is None:
                continue
            tid = decode_key(item.key)
            if tid is None:
                continue
            if item.value is None:
                self._forget(tid)
                continue
            try:
                self._put(decode_value(tid, item.value))
            except (ValueError, IndexError) as exc:
                log.warning("skipping unreadable transaction record for %r: %s", tid, exc)

    @property
    def available(self) -> bool:
        """False while `__transaction_state` is offline (damaged below its recovery point)."""
        return self._logs.log(TRANSACTION_TOPIC, 0).recovery_error is None

    async def recover(self) -> None:
        """Finish what a stop interrupted: decided transactions get their markers (once:
        a partition whose transaction already ended gets none) and complete."""
        for meta in list(self._txns.values()):
            if meta.completing:
                async with self._lock(meta.transactional_id):
                    await self._complete(meta, recovering=True)

    # -- lookups ----------------------------------------------------------------------

    def get(self, transactional_id: str) -> TxnMetadata | None:
        return self._txns.get(transactional_id)

    def all(self) -> list[TxnMetadata]:
        return list(self._txns.values())

    def _lock(self, tid: str) -> asyncio.Lock:
        lock = self._locks.get(tid)
        if lock is None:
            lock = self._locks[tid] = asyncio.Lock()
        return lock

    def _put(self, meta: TxnMetadata) -> None:
        old = self._txns.get(meta.transactional_id)
        if old is not None and self._by_producer.get(old.producer_id) == old.transactional_id:
            del self._by_producer[old.producer_id]
        self._txns[meta.transactional_id] = meta
        self._by_producer[meta.producer_id] = meta.transactional_id

    def _forget(self, tid: str) -> None:
        old = self._txns.pop(tid, None)
        if old is not None and self._by_producer.get(old.producer_id) == tid:
            del self._by_producer[old.producer_id]

    # -- persistence ------------------------------------------------------------------

    async def _persist(self, meta: TxnMetadata) -> None:
        """Durable first, then the new state is the one everybody sees."""
        await self._append(encode_key(meta.transactional_id), encode_value(meta))
        self._put(meta)

    async def _append(self, key: bytes, value: bytes | None) -> None:
        plog = self._logs.log(TRANSACTION_TOPIC, 0)
        result = plog.append(build_batch([(key, value)], timestamp=self._clock.now_ms()))
        await self._logs.wait_durable(plog, result.last_offset)

    def _next(self, meta: TxnMetadata, state: TxnState, **changes: Any) -> TxnMetadata:
        new = replace(meta, partitions=set(meta.partitions), **changes)
        new.move(state, self._clock.now_ms())
        return new

    # -- InitProducerId ---------------------------------------------------------------

    async def init_producer(
        self,
        tid: str,
        timeout_ms: int,
        producer_id: int = NO_PRODUCER,
        producer_epoch: int = -1,
    ) -> InitResult:
        if not self.available:
            return InitResult(ec.COORDINATOR_NOT_AVAILABLE)
        if not tid:
            return InitResult(ec.INVALID_REQUEST)
        if not 0 < timeout_ms <= self.settings.max_timeout_ms:
            return InitResult(ec.INVALID_TRANSACTION_TIMEOUT)
        async with self._lock(tid):
            meta = self._txns.get(tid)
            if meta is None:
                new = TxnMetadata(tid, self._producers.new_producer_id(), 0, timeout_ms)
                new.last_update_ms = self._clock.now_ms()
                await self._persist(new)
                return InitResult(ec.NONE, new.producer_id, 0)
            if meta.completing or meta.state is S.PREPARE_EPOCH_FENCE:
                return InitResult(ec.CONCURRENT_TRANSACTIONS)
            if producer_id >= 0:
                if producer_id != meta.producer_id:
                    return InitResult(ec.PRODUCER_FENCED)
                if producer_epoch == meta.last_epoch >= 0 and meta.state is S.EMPTY:
                    # A retry of the bump that already happened: the same answer.
                    return InitResult(ec.NONE, meta.producer_id, meta.producer_epoch)
                if producer_epoch != meta.producer_epoch:
                    return InitResult(ec.PRODUCER_FENCED)
            if meta.state is S.ONGOING:
                # The open transaction of the previous incarnation is aborted under a
                # bumped epoch; the client retries once it has completed.
                await self._fence_and_abort(meta)
                return InitResult(ec.CONCURRENT_TRANSACTIONS)
            if meta.producer_epoch + 1 >= MAX_EPOCH:
                pid, epoch = self._producers.new_producer_id(), 0
            else:
                pid, epoch = meta.producer_id, meta.producer_epoch + 1
            new = self._next(
                meta,
                S.EMPTY,
                producer_id=pid,
                producer_epoch=epoch,
                timeout_ms=timeout_ms,
                last_epoch=meta.producer_epoch if producer_id >= 0 and pid == producer_id else -1,
            )
            new.partitions.clear()
            new.has_offsets = False
            await self._persist(new)
            log.info(
                "transactional id %r: producer id %d epoch %d fenced by InitProducerId, "
                "now producer id %d epoch %d",
                tid,
                meta.producer_id,
                meta.producer_epoch,
                pid,
                epoch,
            )
            return InitResult(ec.NONE, pid, epoch)

    # -- AddPartitionsToTxn / AddOffsetsToTxn -----------------------------------------

    def _check_producer(self, meta: TxnMetadata | None, pid: int, epoch: int) -> int:
        if not self.available:
            return ec.COORDINATOR_NOT_AVAILABLE
        if meta is None or meta.producer_id != pid:
            return ec.INVALID_PRODUCER_ID_MAPPING
        if meta.producer_epoch != epoch:
            return ec.PRODUCER_FENCED
        if meta.completing or meta.state is S.PREPARE_EPOCH_FENCE:
            return ec.CONCURRENT_TRANSACTIONS
        if meta.state is S.DEAD:
            return ec.INVALID_PRODUCER_ID_MAPPING
        return ec.NONE

    async def add_partitions(
        self,
        tid: str,
        pid: int,
        epoch: int,
        partitions: Iterable[tuple[str, int]],
        *,
        offsets: bool = False,
    ) -> int:
        """Make `partitions` part of the producer's transaction (opening it)."""
        wanted = set(partitions)
        async with self._lock(tid):
            meta = self._txns.get(tid)
            code = self._check_producer(meta, pid, epoch)
            if code or meta is None:
                return code
            if (
                meta.state is S.ONGOING
                and wanted <= meta.partitions
                and (meta.has_offsets or not offsets)
            ):
                return ec.NONE
            new = self._next(meta, S.ONGOING)
            new.partitions |= wanted
            new.has_offsets = meta.has_offsets or offsets
            await self._persist(new)
            return ec.NONE

    async def add_offsets(self, tid: str, pid: int, epoch: int, group_id: str) -> int:
        partition = self._groups.offsets_partition(group_id)
        return await self.add_partitions(
            tid, pid, epoch, [(OFFSETS_TOPIC, partition)], offsets=True
        )

    async def verify(self, tid: str, pid: int, epoch: int, offsets_partition: int) -> int:
        """TxnOffsetCommit's check: the producer is current and its open transaction holds
        the group's offsets partition (else TRANSACTION_ABORTABLE)."""
        meta = self._txns.get(tid)
        if not self.available:
            return ec.COORDINATOR_NOT_AVAILABLE
        if meta is None or meta.producer_id != pid:
            return ec.INVALID_PRODUCER_ID_MAPPING
        if epoch != meta.producer_epoch:
            return ec.PRODUCER_FENCED
        if meta.state is not S.ONGOING or (OFFSETS_TOPIC, offsets_partition) not in meta.partitions:
            return ec.TRANSACTION_ABORTABLE
        return ec.NONE

    def check_produce(self, pid: int, epoch: int, topic: str, partition: int) -> int:
        """A transactional batch may be appended only to a partition of its producer's
        open transaction, by the producer's current epoch."""
        tid = self._by_producer.get(pid)
        meta = None if tid is None else self._txns.get(tid)
        if meta is None:
            return ec.INVALID_TXN_STATE
        if epoch < meta.producer_epoch:
            return ec.INVALID_PRODUCER_EPOCH
        if meta.state is not S.ONGOING or (topic, partition) not in meta.partitions:
            return ec.INVALID_TXN_STATE
        return ec.NONE

    # -- EndTxn -----------------------------------------------------------------------

    async def end_txn(self, tid: str, pid: int, epoch: int, commit: bool) -> int:
        async with self._lock(tid):
            meta = self._txns.get(tid)
            if not self.available:
                return ec.COORDINATOR_NOT_AVAILABLE
            if meta is None or meta.producer_id != pid:
                return ec.INVALID_PRODUCER_ID_MAPPING
            if meta.producer_epoch != epoch:
                return ec.PRODUCER_FENCED
            state = meta.state
            if state is S.ONGOING:
                target = S.PREPARE_COMMIT if commit else S.PREPARE_ABORT
                prepared = self._next(meta, target)
                await self._persist(prepared)
                self._complete_later(tid)
                return ec.NONE
            if state is (S.COMPLETE_COMMIT if commit else S.COMPLETE_ABORT):
                return ec.NONE  # a retry of what already happened
            if state is (S.PREPARE_COMMIT if commit else S.PREPARE_ABORT):
                return ec.CONCURRENT_TRANSACTIONS
            if state is S.PREPARE_EPOCH_FENCE:
                return ec.CONCURRENT_TRANSACTIONS
            return ec.INVALID_TXN_STATE

    def _complete_later(self, tid: str) -> None:
        """Write the markers of the transaction just decided once its lock is free.
        Until then every request for the id answers CONCURRENT_TRANSACTIONS (it is in
        Prepare*); a failure leaves it there for the sweep or the next start."""

        async def run() -> None:
            async with self._lock(tid):
                meta = self._txns.get(tid)
                if meta is not None and meta.completing:
                    await self._complete(meta)

        task = asyncio.create_task(run(), name=f"transaction-markers-{tid}")
        self._completions.add(task)
        task.add_done_callback(self._completions.discard)

    async def drain(self) -> None:
        """Wait for the markers of every transaction already decided (a graceful stop
        leaves nothing for the next start to finish)."""
        while self._completions:
            await asyncio.gather(*self._completions, return_exceptions=True)

    async def _fence_and_abort(self, meta: TxnMetadata) -> None:
        """Bump the epoch of an Ongoing transaction and abort it under the new epoch."""
        if meta.producer_epoch + 1 >= MAX_EPOCH:
            epoch = meta.producer_epoch  # Kafka aborts without a bump at the last epoch
        else:
            epoch = meta.producer_epoch + 1
        fenced = self._next(meta, S.PREPARE_EPOCH_FENCE, producer_epoch=epoch)
        aborting = self._next(fenced, S.PREPARE_ABORT)
        await self._persist(aborting)
        await self._complete(aborting)

    async def _complete(self, meta: TxnMetadata, *, recovering: bool = False) -> int:
        """Markers to every data partition, the group's offsets ended, then Complete*.
        A failure leaves the transaction in its Prepare state for the next sweep."""
        commit = meta.state is S.PREPARE_COMMIT
        try:
            # Appended one after another, made durable together: one flush round covers
            # every partition of the transaction.
            outcomes = await asyncio.gather(
                *(
                    self._write_marker(meta, topic, partition, commit, recovering)
                    for topic, partition in sorted(meta.partitions)
                    if topic != OFFSETS_TOPIC
                ),
                return_exceptions=True,
            )
            failure = next((o for o in outcomes if isinstance(o, BaseException)), None)
            if failure is not None:
                raise failure
            await self._groups.complete_transaction(
                meta.producer_id, meta.producer_epoch, commit=commit, coordinator_epoch=self.epoch
            )
        except Exception:
            log.exception("transaction %r: writing markers failed", meta.transactional_id)
            return ec.COORDINATOR_NOT_AVAILABLE
        done = self._next(meta, S.COMPLETE_COMMIT if commit else S.COMPLETE_ABORT)
        done.partitions.clear()
        done.has_offsets = False
        await self._persist(done)
        return ec.NONE

    async def _write_marker(
        self, meta: TxnMetadata, topic: str, partition: int, commit: bool, recovering: bool
    ) -> None:
        info = self._logs.topic(topic)
        if info is None or not 0 <= partition < info.partitions:
            return  # deleted since: nothing left to end
        plog = self._logs.log(topic, partition)
        if recovering and self._producers.ongoing_transaction(plog, meta.producer_id) is None:
            return  # the marker made it before the stop
        if self._producers.ended_since(plog, meta.producer_id, meta.start_ms):
            return  # already ended here by WriteTxnMarkers (an admin's abort)
        await append_marker(
            self._logs,
            self._producers,
            plog,
            meta.producer_id,
            meta.producer_epoch,
            commit=commit,
            coordinator_epoch=self.epoch,
            now_ms=self._clock.now_ms(),
            notify=self._notify,
        )

    # -- timers -----------------------------------------------------------------------

    async def sweep(self) -> None:
        """Abort (and fence) transactions past their timeout, retry completions that
        failed, expire ids idle past `transactional.id.expiration.ms`."""
        if not self.available:
            return
        now = self._clock.now_ms()
        for meta in list(self._txns.values()):
            tid = meta.transactional_id
            if self._lock(tid).locked():
                continue
            async with self._lock(tid):
                current = self._txns.get(tid)
                if current is None:
                    continue
                if current.state is S.ONGOING and now - current.start_ms > current.timeout_ms:
                    log.info("transaction %r timed out: aborting and fencing", tid)
                    await self._fence_and_abort(current)
                elif current.completing:
                    await self._complete(current)
                elif (
                    current.settled
                    and now - current.last_update_ms > self.settings.id_expiration_ms
                    and not self._groups.has_pending_offsets(current.producer_id)
                ):
                    await self._append(encode_key(tid), None)
                    self._forget(tid)
                    self._locks.pop(tid, None)
