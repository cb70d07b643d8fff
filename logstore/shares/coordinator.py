"""The share coordinator: share groups, their share-partitions, sessions and configs.

Owns the wiring of `membership`, `partition`, `sessions` and `group_configs` for every share
group on this broker, reads the injected clock (locks, member sessions) and persists each
changed group through `store` before the caller answers. It never touches sockets and never
reads record bytes: the ShareFetch handler reads the log and tells it which offsets it read.

When the disk refuses a write (`ShareStateWriteError`, logged here: every refused admin
change, and a group's first refused write until one succeeds again):
- admin changes (start offsets, configs, deleting the group) are written first and applied
  only after, so a refused one changes nothing;
- what members did (acknowledgements, releases, acquisitions, a first join) is already in
  memory and stays there: rolling it back could erase what other members changed while the
  write was under way. Memory is then ahead of the disk: it is in force while the broker
  runs and is written with the group's next successful write; a restart before that returns
  to the last state written, so those records are delivered again (at least once, as the
  error told the acknowledging client).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from logstore.clock import Clock
from logstore.groups.settings import GroupSettings
from logstore.shares import group_configs
from logstore.shares.membership import ShareGroup, ShareHeartbeatResult
from logstore.shares.partition import AckRefused, SharePartition
from logstore.shares.sessions import ShareSessions
from logstore.shares.store import ShareStateStore, ShareStateWriteError
from logstore.storage import LogManager

PartitionId = tuple[uuid.UUID, int]
AckBatches = list[tuple[int, int, list[int]]]
INVALID_GROUP_ID = 24
GROUP_ID_NOT_FOUND = 69
NON_EMPTY_GROUP = 68

# Not `log`: that names a partition's log in this module.
_logger = logging.getLogger(__name__)


@dataclass
class ShareGroupState:
    group: ShareGroup
    configs: dict[str, str] = field(default_factory=dict)
    partitions: dict[PartitionId, SharePartition] = field(default_factory=dict)
    # Someone joined once: the group stays (Empty) after its members and offsets are gone.
    created: bool = False

    @property
    def exists(self) -> bool:
        """A group with configs only (set before anyone joined) is not listed, as in Kafka."""
        return bool(self.created or self.group.members or self.partitions)


# An admin change to a group's state, tried on a copy before memory (see `persist`).
Change = Callable[[ShareGroupState], None]


def _copy(state: ShareGroupState) -> ShareGroupState:
    """The state with containers of its own. The members and share-partitions in them are
    still shared: a `Change` may add, replace or drop them, never mutate one."""
    return ShareGroupState(state.group, dict(state.configs), dict(state.partitions), state.created)


def _snapshot(state: ShareGroupState) -> dict[str, Any]:
    return {
        "created": state.created,
        "configs": dict(state.configs),
        "partitions": {_key(pid): p.snapshot() for pid, p in state.partitions.items()},
    }


def _key(pid: PartitionId) -> str:
    return f"{pid[0]}:{pid[1]}"


def _pid(key: str) -> PartitionId:
    topic_id, _, index = key.rpartition(":")
    return uuid.UUID(topic_id), int(index)


class ShareCoordinator:
    def __init__(self, logs: LogManager, clock: Clock, settings: GroupSettings) -> None:
        self.logs = logs
        self.clock = clock
        self.settings = settings
        self.sessions = ShareSessions()
        self.groups: dict[str, ShareGroupState] = {}
        self._store = ShareStateStore(logs)
        self._write_lock = asyncio.Lock()
        # Groups whose last write the disk refused: a busy group on a full disk would
        # otherwise log every request; the first refusal and the recovery are logged.
        self._refusing: set[str] = set()
        for group_id, data in self._store.load_all().items():
            state = ShareGroupState(ShareGroup(group_id), dict(data.get("configs", {})))
            state.created = bool(data.get("created", False))
            for key, snap in data.get("partitions", {}).items():
                state.partitions[_pid(key)] = SharePartition.restore(snap)
            self.groups[group_id] = state

    # -- groups ----------------------------------------------------------------------------
    def config(self, group_id: str) -> group_configs.EffectiveConfig:
        state = self.groups.get(group_id)
        return group_configs.effective(self.settings, state.configs if state else {})

    def state(self, group_id: str) -> ShareGroupState:
        state = self.groups.get(group_id)
        if state is None:
            state = self.groups[group_id] = ShareGroupState(ShareGroup(group_id))
        return state

    def resolve(self, topic: str) -> tuple[uuid.UUID, int] | None:
        info = self.logs.topic(topic)
        return None if info is None else (info.topic_id, info.partitions)

    def topic_name(self, topic_id: uuid.UUID) -> str:
        info = self.logs.topic_by_id(topic_id)
        return "" if info is None else info.name

    def heartbeat(
        self,
        group_id: str,
        member_id: str,
        member_epoch: int,
        subscribed: list[str] | None,
        client_id: str,
        client_host: str,
        rack_id: str | None,
    ) -> tuple[ShareHeartbeatResult, int]:
        """The heartbeat's result and the heartbeat interval to tell the member."""
        known = self.groups.get(group_id)
        if member_epoch != 0 and member_id and (known is None or not known.exists):
            return ShareHeartbeatResult(
                GROUP_ID_NOT_FOUND, f"Group {group_id} not found."
            ), self.config(group_id).heartbeat_interval_ms
        state = self.state(group_id)
        self.reap(group_id)
        result = state.group.heartbeat(
            member_id,
            member_epoch,
            subscribed,
            self.clock.monotonic_ms(),
            self.resolve,
            self.settings.share_max_size,
            client_id,
            client_host,
            rack_id,
        )
        if result.error == 0 and member_epoch == -1:
            self._forget_member(state, member_id, timed_out=False)
        elif result.error == 0:
            state.created = True
        return result, self.config(group_id).heartbeat_interval_ms

    def reap(self, group_id: str) -> None:
        """Members past their session timeout leave; their records become available."""
        state = self.groups.get(group_id)
        if state is None:
            return
        timeout = self.config(group_id).session_timeout_ms
        for member_id in state.group.expired(self.clock.monotonic_ms(), timeout):
            state.group.remove(member_id)
            self._forget_member(state, member_id, timed_out=True)

    def _forget_member(self, state: ShareGroupState, member_id: str, *, timed_out: bool) -> None:
        group_id = state.group.group_id
        if not timed_out and self.sessions.get(group_id, member_id) is not None:
            # A leaving client still sends its last acknowledgements (ShareAcknowledge,
            # epoch -1) after the leave heartbeat; closing that session releases the rest.
            return
        self.sessions.close(group_id, member_id)
        limit = self.config(state.group.group_id).delivery_limit
        for part in state.partitions.values():
            part.release_member(member_id, limit)

    def listed(self) -> list[ShareGroupState]:
        """Share groups that exist, by id."""
        for group_id in list(self.groups):
            self.reap(group_id)
        return [s for _, s in sorted(self.groups.items()) if s.exists]

    def assigned(self, group_id: str) -> set[PartitionId]:
        """Every share-partition some member of the group is assigned now."""
        state = self.groups.get(group_id)
        if state is None:
            return set()
        group = state.group
        return {
            (tid, index)
            for m in group.members.values()
            for tid, indexes in group.assignment_of(m, self.resolve).items()
            for index in indexes
        }

    def persisted(self, group_id: str, pid: PartitionId) -> tuple[int, list[list[int]]] | None:
        """(start offset, [first, last, state, deliveries] spans) in the form they are
        written to disk (after a refused write, what the next write will write), or None
        when the share-partition has no state (never fetched from)."""
        state = self.groups.get(group_id)
        part = state.partitions.get(pid) if state is not None else None
        if part is None:
            return None
        snap = part.snapshot()
        spans = snap["spans"]
        assert isinstance(spans, list)
        return part.spso, spans

    def is_member(self, group_id: str, member_id: str) -> bool:
        state = self.groups.get(group_id)
        return state is not None and member_id in state.group.members

    # -- share-partitions ------------------------------------------------------------------
    def partition(self, group_id: str, pid: PartitionId, log: Any) -> SharePartition:
        """The share-partition, initialised from `share.auto.offset.reset` on first use and
        moved past records the log no longer holds."""
        state = self.state(group_id)
        part = state.partitions.get(pid)
        if part is None:
            part = state.partitions[pid] = SharePartition(self._reset_offset(group_id, log))
        part.move_start(log.log_start_offset)
        part.expire(self.clock.monotonic_ms(), self.config(group_id).delivery_limit)
        return part

    def _reset_offset(self, group_id: str, log: Any) -> int:
        """Where `share.auto.offset.reset` starts a new share-partition: the log start, the
        log end, or the first record at most the configured duration old."""
        reset = self.config(group_id).auto_offset_reset
        if reset == "earliest":
            return int(log.log_start_offset)
        ago = group_configs.by_duration_ms(reset)
        if ago is not None:
            found = log.offset_for_timestamp(self.clock.now_ms() - ago)
            if found is not None:
                return int(found[0])
        return int(log.log_end_offset)

    def acknowledge(
        self,
        group_id: str,
        member_id: str,
        pid: PartitionId,
        batches: AckBatches,
        renew: bool = False,
    ) -> tuple[int, str | None]:
        state = self.groups.get(group_id)
        part = state.partitions.get(pid) if state else None
        if part is None:
            return AckRefused(121, "").code, "the share-partition has no records in flight"
        cfg = self.config(group_id)
        now = self.clock.monotonic_ms()
        part.expire(now, cfg.delivery_limit)
        renewed = now + cfg.lock_duration_ms if renew else None
        try:
            part.acknowledge(member_id, batches, cfg.delivery_limit, renewed)
        except AckRefused as exc:
            return exc.code, str(exc)
        return 0, None

    def release_session(self, group_id: str, member_id: str, pids: set[PartitionId]) -> None:
        """A closed session's acquisitions return to the others."""
        state = self.groups.get(group_id)
        if state is None:
            return
        limit = self.config(group_id).delivery_limit
        for pid in pids:
            part = state.partitions.get(pid)
            if part is not None:
                part.release_member(member_id, limit)

    # -- start offsets (admin) -------------------------------------------------------------
    def offsets_refusal(self, group_id: str, *, create: bool) -> tuple[int, str | None]:
        """Why the group's start offsets may not be changed now (0 when they may): it must
        have no members, and exist unless `create` (Kafka's AlterShareGroupOffsets makes
        an unknown group; its DeleteShareGroupOffsets does not)."""
        state = self.groups.get(group_id)
        if state is None or not state.exists:
            return (0, None) if create else (GROUP_ID_NOT_FOUND, f"Group {group_id} not found.")
        self.reap(group_id)
        if state.group.members:
            return NON_EMPTY_GROUP, "The group is not empty."
        return 0, None

    async def reset_start(self, group_id: str, offsets: dict[PartitionId, int]) -> None:
        """Each share-partition starts afresh at its new offset, nothing in flight; a
        negative offset leaves it to `share.auto.offset.reset` on the next fetch. Written
        before it is in force: ShareStateWriteError changes nothing."""

        def change(state: ShareGroupState) -> None:
            state.created = True
            for pid, offset in offsets.items():
                if offset < 0:
                    state.partitions.pop(pid, None)
                else:
                    state.partitions[pid] = SharePartition(offset)

        await self.persist(group_id, change)

    def topics_with_state(self, group_id: str, topic_ids: set[uuid.UUID]) -> set[uuid.UUID]:
        """Those of `topic_ids` the group has share-partition state for."""
        state = self.groups.get(group_id)
        return set() if state is None else {tid for tid, _ in state.partitions if tid in topic_ids}

    async def delete_offsets(self, group_id: str, topic_ids: set[uuid.UUID]) -> None:
        """Forget the group's state for these topics. Written before it is in force:
        ShareStateWriteError changes nothing."""

        def change(state: ShareGroupState) -> None:
            for pid in [pid for pid in state.partitions if pid[0] in topic_ids]:
                del state.partitions[pid]

        if self.topics_with_state(group_id, topic_ids):
            await self.persist(group_id, change)

    async def connection_closed(self, connection: int) -> None:
        """Sessions opened on a closed connection end: their members' acquired records
        are available to others at once, not when their locks lapse (the delivery still
        counts, as in Kafka)."""
        touched = set()
        for session in self.sessions.close_connection(connection):
            self.release_session(session.group_id, session.member_id, session.partitions)
            touched.add(session.group_id)
        for group_id in sorted(touched):
            # Nobody is left to answer: the releases stay in force, persist logged why.
            with contextlib.suppress(ShareStateWriteError):
                await self.persist(group_id)

    # -- configs ---------------------------------------------------------------------------
    def validate_configs(self, set_: dict[str, str], delete: list[str]) -> None:
        for name, value in set_.items():
            group_configs.validate(self.settings, name, value)
        for name in delete:
            if name not in group_configs.NAMES:
                raise group_configs.GroupConfigRefused(f"Unknown group config name: {name}")

    async def alter_configs(self, group_id: str, set_: dict[str, str], delete: list[str]) -> None:
        """Written before it is in force: ShareStateWriteError changes nothing."""
        self.validate_configs(set_, delete)

        def change(state: ShareGroupState) -> None:
            for name in delete:
                state.configs.pop(name, None)
            state.configs.update(set_)

        await self.persist(group_id, change)

    def describe_configs(self, group_id: str) -> list[tuple[str, str, bool]]:
        """(name, value, is_override) of every group config."""
        state = self.groups.get(group_id)
        overrides = state.configs if state else {}
        return [
            (name, overrides.get(name, default), name in overrides)
            for name, default in group_configs.defaults(self.settings).items()
        ]

    # -- persistence -----------------------------------------------------------------------
    async def persist(self, group_id: str, change: Change | None = None) -> None:
        """Write the group's state; returns once it is on disk.

        Without `change`, the state written is the one in memory, which the caller already
        changed. With `change`, it is the state as `change` leaves it, and `change` is
        applied in memory only once that is on disk.

        A write the disk refuses raises ShareStateWriteError, logged here (callers must not
        log it again). With `change`, nothing changed. Without, memory stays ahead of the
        disk until the group's next successful write (see the module docstring).
        """
        async with self._write_lock:
            state = self.groups.get(group_id)
            if state is None and change is None:
                return
            target = ShareGroupState(ShareGroup(group_id)) if state is None else state
            if change is not None:
                target = _copy(target)
                change(target)
            try:
                await asyncio.to_thread(self._store.write, group_id, _snapshot(target))
            except ShareStateWriteError as exc:
                if change is not None:
                    _logger.warning("%s; nothing changed", exc)
                elif group_id not in self._refusing:
                    self._refusing.add(group_id)
                    _logger.warning(
                        "%s; the state in memory stays in force and is written with the "
                        "group's next write that succeeds (until then no further refusal "
                        "is logged)",
                        exc,
                    )
                raise
            if group_id in self._refusing:
                self._refusing.discard(group_id)
                _logger.info("the state of share group %s is written again", group_id)
            if change is not None:
                # On the live state, not the copy: what others changed while the write
                # was under way stays.
                change(self.state(group_id))

    async def delete_group(self, group_id: str) -> int:
        """Delete an empty group: its file first, then the group in memory; 0 once done.
        KAFKA_STORAGE_ERROR, the group kept, if the disk refuses (logged). If the unlink
        went through but the directory's fsync failed, whether the deletion survives a
        restart is unknown, as after any failed fsync; deleting again completes it."""
        async with self._write_lock:
            # Checked under the lock: a member may have joined while a write held it.
            state = self.groups.get(group_id)
            if state is None or not state.exists:
                return GROUP_ID_NOT_FOUND
            self.reap(group_id)
            if state.group.members:
                return NON_EMPTY_GROUP
            try:
                await asyncio.to_thread(self._store.delete, group_id)
            except ShareStateWriteError as exc:
                _logger.warning("%s; the group is kept", exc)
                return exc.code
            self.groups.pop(group_id, None)
            self._refusing.discard(group_id)
        return 0
