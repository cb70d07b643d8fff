"""The broker's producer hook: per-partition producer and transaction state, loaded and saved.

Owns `ProducerManager`, which the Produce handler consults around every append (see `logstore.broker.context`)
(`check` before an append, `record` after it), the lazy per-partition rebuild of producer
state (the last snapshot, then the batch headers appended since), and periodic snapshots
under `LogManager.state_dir("producers")` so a retry after a restart -- even after
`kill -9` -- is acknowledged with its original offset instead of being appended twice.
It also answers the log side of transactions from that state: the last stable offset, the
aborted transactions a read_committed fetch is told about, each producer's open
transaction. It must never decode records (headers only, except the one record of a rare
transaction marker) nor touch sockets.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logstore.clock import Clock, SystemClock
from logstore.durable import write_atomic
from logstore.producers.ids import ProducerIdAllocator
from logstore.producers.state import (
    BatchMeta,
    DuplicateBatch,
    PartitionProducers,
    last_seq_of,
)
from logstore.records.control import COMMIT, read_marker
from logstore.records.errors import CorruptRecordError

log = logging.getLogger(__name__)

SNAPSHOT_FILE = "producer-state.json"
MAX_EPOCH = 32767  # epochs are int16; past this a producer gets a new id
PRODUCER_ID_EXPIRATION_MS = 86_400_000  # Kafka's producer.id.expiration.ms default


class ProducerManager:
    """Producer state for every partition, rebuilt lazily on the first batch that needs it."""

    def __init__(self, logs: Any, clock: Clock | None = None) -> None:
        self._logs = logs
        self._clock: Clock = clock or SystemClock()
        self._dir: Path = Path(logs.state_dir("producers"))
        self._parts: dict[tuple[str, int], PartitionProducers] = {}
        self._snapshot: dict[str, Any] = self._load_snapshot()
        self._drop_snapshots_past_log_end()
        self._dirty = False
        # Aborted transactions forgotten (compaction found their data gone) but not yet in
        # a written snapshot, by partition: until they are, compaction must not remove
        # their markers, or a crash would bring back an entry without its marker.
        self._unsaved_forgets: dict[tuple[str, int], set[tuple[int, int, int]]] = {}
        self._saving_forgets: dict[tuple[str, int], set[tuple[int, int, int]]] = {}
        # Serialises snapshot writes: the periodic one runs in a thread, the last one at
        # shutdown on the loop, and both use the same temporary file.
        self._write_lock = threading.Lock()
        self._ids = ProducerIdAllocator(self._dir)

    # -- InitProducerId -----------------------------------------------------------------

    def producer_id_count(self) -> int:
        """Producer ids with state, summed over the partitions loaded (Kafka's
        ReplicaManager ProducerIdCount)."""
        return sum(len(state.entries) for state in self._parts.values())

    def new_producer_id(self) -> int:
        """A never-used producer id (the transaction coordinator's InitProducerId)."""
        return self._ids.allocate()

    def init_producer(self) -> tuple[int, int]:
        """A never-used producer id at epoch 0: Kafka's answer to every InitProducerId
        without a transactional id, whatever id and epoch the producer presents (an
        idempotent producer bumps its epoch itself)."""
        return self._ids.allocate(), 0

    # -- the hook ---------------------------------------------------------------------

    def check(self, plog: Any, header: Any) -> DuplicateBatch | None:
        """Vet a batch; raises ProducerStateError (.code 45/47) or returns a duplicate."""
        if header.producer_id < 0 or header.is_control:
            return None
        state = self._state(plog)
        dup = state.check(
            header.producer_id,
            header.producer_epoch,
            header.base_sequence,
            last_seq_of(header.base_sequence, header.last_offset_delta),
        )
        if dup is None:
            return None
        return DuplicateBatch(base_offset=dup.base_offset)

    def record(self, plog: Any, header: Any, base_offset: int) -> None:
        """After an append: remember the batch (a marker is read back from the log)."""
        if header.producer_id < 0:
            return
        if (plog.topic, plog.partition) not in self._parts:
            # Loading now scans up to the log end, this batch included.
            self._state(plog)
            self._dirty = True
            return
        state = self._state(plog)
        if header.is_control:
            if header.is_transactional:
                with plog.read(base_offset, header.size) as piece:
                    _apply(state, header, base_offset, piece.to_bytes())
                self._dirty = True
            return
        if header.is_transactional:
            state.txns.data(header.producer_id, base_offset)
            self._dirty = True
        if header.base_sequence < 0:
            return
        state.record(header.producer_id, header.producer_epoch, _meta(header, base_offset))
        self._dirty = True

    # -- transactions, as the log side sees them ---------------------------------------

    def last_stable_offset(self, plog: Any) -> int:
        """The first offset of the oldest open transaction, else the log end (never below
        the log start: retention may remove the start of a transaction still open)."""
        state = self._state(plog)
        first = state.txns.first_unstable_offset()
        if first is None:
            return int(plog.log_end_offset)
        return max(first, plog.log_start_offset)

    def aborted_transactions(
        self, plog: Any, fetch_offset: int, upper_offset: int
    ) -> list[tuple[int, int]]:
        """(producer id, first offset) of aborted transactions overlapping
        [fetch_offset, upper_offset)."""
        txns = self._state(plog).txns
        if plog.log_start_offset > 0:
            txns.truncate_before(plog.log_start_offset)
        return txns.aborted_between(fetch_offset, upper_offset)

    def aborted_ranges(self, plog: Any, start: int, end: int) -> list[tuple[int, int, int]]:
        """(producer id, first offset, marker offset) of aborted transactions overlapping
        [start, end): what compaction removes. Forgotten ones stay listed here until a
        snapshot without them is written (their markers must stay until then)."""
        txns = self._state(plog).txns
        key = (plog.topic, plog.partition)
        unsaved = self._unsaved_forgets.get(key, set()) | self._saving_forgets.get(key, set())
        listed = {(a.producer_id, a.first_offset, a.last_offset) for a in txns.aborted}
        return sorted(
            (e for e in listed | unsaved if e[2] >= start and e[1] < end), key=lambda e: e[2]
        )

    def last_batches(self, plog: Any) -> dict[int, tuple[int | None, int]]:
        """Producer id -> (last offset of its last data batch, None when a marker with a
        newer epoch came after it; its epoch): the batches compaction must keep so that a
        rescan of the log finds every live producer's sequence and epoch."""
        return {
            pid: (e.batches[-1].last_offset if e.batches else None, e.epoch)
            for pid, e in self._state(plog).entries.items()
        }

    def forget_aborted(self, plog: Any, gone: list[tuple[int, int, int]]) -> None:
        """Compaction removed every data batch of these aborted transactions: a
        read_committed fetch is no longer told about them (their markers may go later)."""
        if self._state(plog).txns.forget(gone):
            self._dirty = True
            self._unsaved_forgets.setdefault((plog.topic, plog.partition), set()).update(gone)

    def ongoing_transaction(self, plog: Any, producer_id: int) -> int | None:
        """First offset of `producer_id`'s open transaction on this partition, or None."""
        return self._state(plog).txns.ongoing.get(producer_id)

    def marker_epochs(self, plog: Any, producer_id: int) -> tuple[int, int] | None:
        """(producer epoch, coordinator epoch of its last marker, -1 if none) a marker for
        `producer_id` is checked against here; None when the partition does not know it."""
        state = self._state(plog)
        entry = state.entries.get(producer_id)
        if entry is None:
            return None
        return entry.epoch, state.txns.coordinator_epochs.get(producer_id, -1)

    def ended_since(self, plog: Any, producer_id: int, since_ms: int) -> bool:
        """True when `producer_id` has no open transaction here and a marker for it was
        written after `since_ms` (its transaction here was ended by someone else). Strictly
        after: the previous transaction's marker may share the millisecond it started in."""
        state = self._state(plog)
        if producer_id in state.txns.ongoing:
            return False
        entry = state.entries.get(producer_id)
        return entry is not None and entry.marker_timestamp > since_ms

    def producers(self, plog: Any) -> list[ProducerView]:
        """Every producer with state on this partition (DescribeProducers)."""
        state = self._state(plog)
        txns = state.txns
        return [
            ProducerView(
                producer_id=e.producer_id,
                producer_epoch=e.epoch,
                last_sequence=e.last_seq,
                last_timestamp=e.last_timestamp,
                coordinator_epoch=txns.coordinator_epochs.get(e.producer_id, -1),
                current_txn_start_offset=txns.ongoing.get(e.producer_id, -1),
            )
            for e in state.entries.values()
        ]

    # -- loading ----------------------------------------------------------------------

    def _state(self, plog: Any) -> PartitionProducers:
        key = (plog.topic, plog.partition)
        state = self._parts.get(key)
        if state is None:
            state = self._rebuild(plog)
            self._parts[key] = state
        return state

    def _rebuild(self, plog: Any) -> PartitionProducers:
        snap = self._snapshot.get(_key(plog.topic, plog.partition))
        start = plog.log_start_offset
        state = PartitionProducers()
        if snap is not None and snap.get("topic_id") == self._topic_id(plog.topic):
            snap_offset = int(snap["offset"])
            # A snapshot past the log end means the log was truncated (recovery): rescan.
            if plog.log_start_offset <= snap_offset <= plog.log_end_offset:
                state = PartitionProducers.from_json(snap["producers"], snap.get("txns"))
                start = snap_offset
        self._scan(plog, start, state)
        return state

    def _scan(self, plog: Any, offset: int, state: PartitionProducers) -> None:
        """Replay the headers of batches from `offset` to the end into `state` (the one
        record of a transaction marker is read too)."""
        for header, read in plog.walk_headers(offset):
            if header.last_offset < offset or header.producer_id < 0:
                continue
            if header.is_control:
                if header.is_transactional:
                    _apply(state, header, header.base_offset, read())
                continue
            if header.is_transactional:
                state.txns.data(header.producer_id, header.base_offset)
            if header.base_sequence >= 0:
                state.record(
                    header.producer_id, header.producer_epoch, _meta(header, header.base_offset)
                )

    def _topic_id(self, topic: str) -> str | None:
        info = self._logs.topic(topic)
        return None if info is None else str(info.topic_id)

    # -- snapshots --------------------------------------------------------------------

    def _load_snapshot(self) -> dict[str, Any]:
        path = self._dir / SNAPSHOT_FILE
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            # A damaged snapshot only costs a longer rescan of the logs.
            log.warning("ignoring producer snapshot %s: %s", path, exc)
            return {}
        return data if isinstance(data, dict) else {}

    def _drop_snapshots_past_log_end(self) -> None:
        """Forget now what recovery made stale: a partition truncated below its snapshot
        could be appended to again (by a producer without an id, which loads no state)
        before its state is first loaded, and would then look consistent with it."""
        for name in list(self._snapshot):
            entry = self._snapshot[name]
            topic, _, partition = name.rpartition("/")
            try:
                end = self._logs.log(topic, int(partition)).log_end_offset
            except Exception:
                continue  # the topic is gone: prepare_snapshot forgets it
            if not isinstance(entry, dict) or int(entry.get("offset", -1)) > end:
                del self._snapshot[name]

    def snapshot(self) -> None:
        """Write the state of every loaded partition (atomically); cheap when nothing changed."""
        data = self.prepare_snapshot()
        if data is not None:
            self.write_snapshot(data)

    def prepare_snapshot(self) -> dict[str, Any] | None:
        """The state to save, or None when nothing changed since the last snapshot.

        Runs on the event loop (it reads live state); `write_snapshot` does the file I/O
        and may run in a thread, because an fsync there would stall every request.
        """
        cutoff = self._clock.now_ms() - PRODUCER_ID_EXPIRATION_MS
        for (topic, partition), state in self._parts.items():
            if state.expire(cutoff):
                self._dirty = True
            # Retention or DeleteRecords alone changes nothing here, yet the saved aborted
            # list must shrink with the log start or it grows with every abort.
            start = self._log_start(topic, partition)
            if start > 0 and state.txns.truncate_before(start):
                self._dirty = True
        if not self._dirty:
            return None
        data = dict(self._snapshot)
        gone: list[tuple[str, int]] = []
        for (topic, partition), state in self._parts.items():
            try:
                plog = self._logs.log(topic, partition)
            except Exception:  # the topic was deleted: forget its producers
                data.pop(_key(topic, partition), None)
                gone.append((topic, partition))
                continue
            data[_key(topic, partition)] = {
                "topic_id": self._topic_id(topic),
                "offset": plog.log_end_offset,
                "producers": state.to_json(),
                "txns": state.txns.to_json(),
            }
        for key in gone:
            del self._parts[key]
        self._snapshot = data
        self._dirty = False
        for key, forgotten in self._unsaved_forgets.items():
            self._saving_forgets.setdefault(key, set()).update(forgotten)
        self._unsaved_forgets = {}
        # A copy: `forget_topic` may edit `self._snapshot` while a thread serialises this.
        return dict(data)

    def _log_start(self, topic: str, partition: int) -> int:
        try:
            return int(self._logs.log(topic, partition).log_start_offset)
        except Exception:  # the topic was deleted: the snapshot forgets it
            return 0

    def write_snapshot(self, data: dict[str, Any]) -> None:
        """Serialise and durably replace the snapshot file (safe from any thread)."""
        try:
            with self._write_lock:
                self._dir.mkdir(parents=True, exist_ok=True)
                write_atomic(self._dir / SNAPSHOT_FILE, json.dumps(data).encode())
        except BaseException:
            self._dirty = True  # try again at the next snapshot
            raise
        self._saving_forgets = {}

    def forget_topic(self, topic: str) -> None:
        """Drop state of a deleted topic so a recreated one starts clean."""
        for key in [k for k in self._parts if k[0] == topic]:
            del self._parts[key]
        for forgets in (self._unsaved_forgets, self._saving_forgets):
            for key in [k for k in forgets if k[0] == topic]:
                del forgets[key]
        for name in [k for k in self._snapshot if k.rsplit("/", 1)[0] == topic]:
            del self._snapshot[name]
        self._dirty = True


@dataclass(frozen=True, slots=True)
class ProducerView:
    """One producer's state on one partition, as DescribeProducers shows it."""

    producer_id: int
    producer_epoch: int
    last_sequence: int
    last_timestamp: int
    coordinator_epoch: int
    current_txn_start_offset: int


def _apply(state: PartitionProducers, header: Any, offset: int, batch: Any) -> None:
    """Apply the marker `batch` at `offset`; a control batch that is no marker is skipped."""
    if header.records_count == 0:
        state.emptied_marker(header.producer_id, header.producer_epoch, header.max_timestamp)
        return
    try:
        kind, coordinator_epoch = read_marker(batch)
    except CorruptRecordError as exc:
        log.warning("control batch at offset %d is no transaction marker: %s", offset, exc)
        return
    state.record_marker(
        header.producer_id,
        header.producer_epoch,
        offset,
        commit=kind == COMMIT,
        coordinator_epoch=coordinator_epoch,
        timestamp=header.max_timestamp,
    )


def _meta(header: Any, base_offset: int) -> BatchMeta:
    return BatchMeta(
        first_seq=header.base_sequence,
        last_seq=last_seq_of(header.base_sequence, header.last_offset_delta),
        base_offset=base_offset,
        last_offset=base_offset + header.last_offset_delta,
        timestamp=header.max_timestamp,
    )


def _key(topic: str, partition: int) -> str:
    return f"{topic}/{partition}"
