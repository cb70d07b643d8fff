"""Which group records `__consumer_offsets` still needs, and the groups it holds on start.

Owns the bookkeeping that makes group membership survive a restart: the groups touched
since the last write (dirty sets), what was last written for each (signatures, so an
unchanged group is not written again), the records to append for the changed ones
(classic: `metadata`, KIP-848: `consumer_metadata`; a tombstone for a group that is gone),
and the groups rebuilt from the records replayed at start-up.

It must never append, read files, await or read a clock: the coordinator passes the
groups, the time and a monotonic-to-wall conversion, appends the records and then calls
`written`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from logstore.groups import consumer_metadata
from logstore.groups import metadata as classic_metadata
from logstore.groups.consumer import ConsumerGroup
from logstore.groups.state import ClassicGroup, GroupState

log = logging.getLogger(__name__)

Record = tuple[bytes, bytes | None]


class GroupJournal:
    def __init__(self) -> None:
        self._dirty: set[str] = set()
        self._dirty_consumer: set[str] = set()
        self._persisted: dict[str, classic_metadata.GroupRecord] = {}
        self._persisted_consumer: dict[str, bytes] = {}
        self._pending: dict[str, classic_metadata.GroupRecord | None] = {}
        self._pending_consumer: dict[str, bytes | None] = {}
        # Filled while the topic is replayed (latest record wins).
        self._loaded: dict[str, classic_metadata.GroupRecord | None] = {}
        self._loaded_consumer: dict[str, bytes | None] = {}

    def touch(self, group_id: str) -> None:
        """A classic group may have changed."""
        self._dirty.add(group_id)

    def touch_consumer(self, group_id: str) -> None:
        """A KIP-848 group may have changed."""
        self._dirty_consumer.add(group_id)

    # -- writing --------------------------------------------------------------------------

    def pending(
        self,
        classic: dict[str, ClassicGroup],
        consumer: dict[str, ConsumerGroup],
        wall: Callable[[int], int],
    ) -> list[Record]:
        """The records that bring the topic up to date with the touched groups; call
        `written` once they are durable. `wall` turns a monotonic instant into wall time."""
        records: list[Record] = []
        for group_id in sorted(self._dirty):
            group = classic.get(group_id)
            if group is None or group.state is GroupState.DEAD:
                if group_id in self._persisted:
                    records.append((classic_metadata.encode_key(group_id), None))
                    self._pending[group_id] = None
                continue
            record = classic_metadata.snapshot(group, wall(group.state_since_ms))
            if record is None:
                continue  # rebalancing: written when it settles
            signature = replace(record, state_timestamp_ms=0)
            if self._persisted.get(group_id) != signature:
                key = classic_metadata.encode_key(group_id)
                records.append((key, classic_metadata.encode_value(record)))
                self._pending[group_id] = signature
        for group_id in sorted(self._dirty_consumer):
            cgroup = consumer.get(group_id)
            value = None
            if cgroup is not None and not cgroup.dead:
                value = consumer_metadata.encode_value(consumer_metadata.state_of(cgroup))
            if value != self._persisted_consumer.get(group_id):
                records.append((consumer_metadata.encode_key(group_id), value))
                self._pending_consumer[group_id] = value
        self._dirty.clear()
        self._dirty_consumer.clear()
        return records

    def written(self) -> None:
        """The records from the last `pending` are durable."""
        for group_id, signature in self._pending.items():
            if signature is None:
                self._persisted.pop(group_id, None)
            else:
                self._persisted[group_id] = signature
        for group_id, value in self._pending_consumer.items():
            if value is None:
                self._persisted_consumer.pop(group_id, None)
            else:
                self._persisted_consumer[group_id] = value
        self.failed()

    def failed(self) -> None:
        """The records from the last `pending` were not written."""
        self._pending.clear()
        self._pending_consumer.clear()

    # -- loading --------------------------------------------------------------------------

    def take(self, key: bytes, value: bytes | None) -> bool:
        """Keep a replayed record if it is a group record (True); offsets are not."""
        consumer_id = consumer_metadata.decode_key(key)
        if consumer_id is not None:
            self._loaded_consumer[consumer_id] = value
            return True
        group_id = classic_metadata.decode_key(key)
        if group_id is None:
            return False
        try:
            self._loaded[group_id] = None if value is None else classic_metadata.decode_value(value)
        except (ValueError, UnicodeDecodeError):
            log.warning("skipping an unreadable metadata record of group %r", group_id)
        return True

    def restore(
        self,
        new_classic: Callable[[str], ClassicGroup],
        new_consumer: Callable[[str], ConsumerGroup],
        now_ms: int,
        wall_now_ms: int,
    ) -> tuple[dict[str, ClassicGroup], dict[str, ConsumerGroup]]:
        """The groups the replayed records describe; members' sessions start at `now_ms`."""
        classic: dict[str, ClassicGroup] = {}
        consumer: dict[str, ConsumerGroup] = {}
        for group_id, value in self._loaded_consumer.items():
            if value is None:
                continue
            try:
                state = consumer_metadata.decode_value(value)
                consumer[group_id] = consumer_metadata.restore(
                    new_consumer(group_id), state, now_ms
                )
            except (ValueError, KeyError, TypeError):
                log.warning("skipping an unreadable record of consumer group %r", group_id)
                continue
            self._persisted_consumer[group_id] = value
        for group_id, record in self._loaded.items():
            if record is None:
                continue
            group = classic_metadata.restore(new_classic(group_id), record, now_ms)
            group.state_since_ms = now_ms - max(0, wall_now_ms - record.state_timestamp_ms)
            classic[group_id] = group
            self._persisted[group_id] = replace(record, state_timestamp_ms=0)
        self._loaded.clear()
        self._loaded_consumer.clear()
        return classic, consumer
