"""The classic consumer-group state machine (JoinGroup / SyncGroup / Heartbeat / LeaveGroup).

Owns one group's membership, generation, selected protocol, assignments and the
Empty / PreparingRebalance / CompletingRebalance / Stable / Dead states, written as a
transition table. Every operation is a plain method that takes the current monotonic time
and returns the replies it can give now (`JoinReply` / `SyncReply`, keyed by member id);
replies for members still waiting come out of a later call (another member's join, a
sync from the leader, or `tick`).

It never awaits, never reads a clock and never touches sockets or files: timers and
futures live in `groups/coordinator.py`, which calls `tick(now_ms)` to let session and
rebalance timeouts fire.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from logstore.groups import errors as err

log = logging.getLogger("logstore.groups")


class GroupState(enum.Enum):
    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"


S = GroupState
# Allowed transitions (from -> tos). Anything else is a bug in this module, not bad input.
TRANSITIONS: dict[GroupState, frozenset[GroupState]] = {
    S.EMPTY: frozenset({S.PREPARING_REBALANCE, S.DEAD}),
    S.PREPARING_REBALANCE: frozenset({S.COMPLETING_REBALANCE, S.EMPTY, S.DEAD}),
    S.COMPLETING_REBALANCE: frozenset({S.PREPARING_REBALANCE, S.STABLE, S.DEAD}),
    S.STABLE: frozenset({S.PREPARING_REBALANCE, S.DEAD}),
    S.DEAD: frozenset(),
}


class IllegalTransition(RuntimeError):
    pass


@dataclass
class Member:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocol_type: str
    protocols: list[tuple[str, bytes]]
    assignment: bytes = b""
    awaiting_join: bool = False
    awaiting_sync: bool = False
    last_heartbeat_ms: int = 0

    def metadata_for(self, protocol: str) -> bytes:
        for name, metadata in self.protocols:
            if name == protocol:
                return metadata
        return b""

    def protocol_names(self) -> list[str]:
        return [name for name, _ in self.protocols]


@dataclass(frozen=True)
class JoinReply:
    member_id: str
    error: int = err.NONE
    generation_id: int = -1
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader: str = ""
    # (member_id, group_instance_id, metadata) — only the leader receives the list.
    members: tuple[tuple[str, str | None, bytes], ...] = ()
    skip_assignment: bool = False


@dataclass(frozen=True)
class SyncReply:
    member_id: str
    error: int = err.NONE
    assignment: bytes = b""
    protocol_type: str | None = None
    protocol_name: str | None = None


Reply = JoinReply | SyncReply


@dataclass
class JoinRequest:
    """What a JoinGroup carries, independent of the wire version."""

    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocol_type: str
    protocols: list[tuple[str, bytes]]
    # JoinGroup v4+ asks unknown dynamic members to come back with an assigned id.
    require_known_member_id: bool = True
    # JoinGroup v9+ can tell a returning static leader to skip the assignment.
    supports_skip_assignment: bool = True


@dataclass
class ClassicGroup:
    group_id: str
    # Kafka's group.initial.rebalance.delay.ms: lets a burst of first joiners share one
    # generation instead of each forcing a rebalance.
    initial_rebalance_delay_ms: int = 0
    # Kafka's group.max.size: members (and dynamic members on their way in) at most.
    max_size: int = 2**31 - 1
    state: GroupState = GroupState.EMPTY
    generation_id: int = 0
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader_id: str | None = None
    members: dict[str, Member] = field(default_factory=dict)
    # Dynamic members told MEMBER_ID_REQUIRED, with the deadline to come back by.
    pending_members: dict[str, int] = field(default_factory=dict)
    static_members: dict[str, str] = field(default_factory=dict)  # instance id -> member id
    rebalance_deadline_ms: int = 0
    # While a fresh group waits out the initial delay, a full house does not end the join.
    hold_until_ms: int = 0
    # Kafka extends the initial delay by another delay while newcomers keep arriving,
    # until the rebalance timeout is spent.
    hold_budget_end_ms: int = 0
    new_member_added: bool = False
    state_since_ms: int = 0

    # -- transitions ------------------------------------------------------------------

    def _transition(self, to: GroupState, now_ms: int) -> None:
        if to not in TRANSITIONS[self.state]:
            raise IllegalTransition(f"{self.group_id}: {self.state.value} -> {to.value}")
        self.state = to
        self.state_since_ms = now_ms

    # -- queries ----------------------------------------------------------------------

    @property
    def is_empty(self) -> bool:
        return not self.members

    def all_rejoined(self) -> bool:
        return not self.pending_members and all(m.awaiting_join for m in self.members.values())

    def select_protocol(self) -> str | None:
        """The protocol every member supports, preferring what most members list first."""
        if not self.members:
            return None
        common: set[str] | None = None
        for m in self.members.values():
            names = set(m.protocol_names())
            common = names if common is None else common & names
        if not common:
            return None
        votes: dict[str, int] = {}
        order: list[str] = []
        for m in self.members.values():
            for name in m.protocol_names():
                if name in common:
                    if name not in votes:
                        votes[name] = 0
                        order.append(name)
                    votes[name] += 1
                    break
        # Highest vote wins; ties go to the protocol seen first (deterministic).
        return max(order, key=lambda n: (votes[n], -order.index(n)))

    def _supports(self, req: JoinRequest) -> bool:
        if self.state is GroupState.EMPTY and not self.members:
            return bool(req.protocol_type) and bool(req.protocols)
        if req.protocol_type != self.protocol_type:
            return False
        names = {n for n, _ in req.protocols}
        common: set[str] = set(names)
        for m in self.members.values():
            if m.member_id == req.member_id:
                continue
            common &= set(m.protocol_names())
        return bool(common)

    # -- JoinGroup --------------------------------------------------------------------

    def join(self, req: JoinRequest, now_ms: int) -> list[Reply]:
        if self.state is GroupState.DEAD:
            return [JoinReply(req.member_id, err.COORDINATOR_NOT_AVAILABLE)]
        if not self._supports(req):
            return [JoinReply(req.member_id, err.INCONSISTENT_GROUP_PROTOCOL)]
        if self._full(req):
            return [JoinReply(req.member_id, err.GROUP_MAX_SIZE_REACHED)]
        if req.group_instance_id is not None:
            return self._join_static(req, now_ms)
        if not req.member_id:
            member_id = _new_member_id(req.client_id)
            if req.require_known_member_id:
                req.member_id = member_id
                self.pending_members[member_id] = now_ms + req.session_timeout_ms
                return [JoinReply(member_id, err.MEMBER_ID_REQUIRED)]
            req.member_id = member_id
            return self._add_member(req, now_ms)
        if req.member_id in self.pending_members:
            del self.pending_members[req.member_id]
            return self._add_member(req, now_ms)
        member = self.members.get(req.member_id)
        if member is None:
            return [JoinReply(req.member_id, err.UNKNOWN_MEMBER_ID)]
        return self._rejoin(member, req, now_ms)

    def _full(self, req: JoinRequest) -> bool:
        """A newcomer (not a known member, pending member or known static instance) is
        refused once the group holds `max_size` members."""
        if req.member_id in self.members or req.member_id in self.pending_members:
            return False
        if req.group_instance_id is not None and req.group_instance_id in self.static_members:
            return False
        return len(self.members) + len(self.pending_members) >= self.max_size

    def _join_static(self, req: JoinRequest, now_ms: int) -> list[Reply]:
        assert req.group_instance_id is not None
        known = self.static_members.get(req.group_instance_id)
        if known is None:
            if req.member_id:
                return [JoinReply(req.member_id, err.UNKNOWN_MEMBER_ID)]
            req.member_id = _new_member_id(req.group_instance_id)
            return self._add_member(req, now_ms)
        if req.member_id and req.member_id != known:
            return [JoinReply(req.member_id, err.FENCED_INSTANCE_ID)]
        old = self.members[known]
        if req.member_id == known:
            return self._rejoin(old, req, now_ms)
        # A restarted static member: it takes over the old identity without a rebalance
        # when nothing it declares has changed (KIP-345), fencing the old member id.
        replies: list[Reply] = []
        new_id = _new_member_id(req.group_instance_id)
        log.info(
            "group %s: static member %s fenced member id %s (now %s)",
            self.group_id,
            req.group_instance_id,
            known,
            new_id,
        )
        if old.awaiting_join:
            replies.append(JoinReply(old.member_id, err.FENCED_INSTANCE_ID))
        if old.awaiting_sync:
            replies.append(SyncReply(old.member_id, err.FENCED_INSTANCE_ID))
        del self.members[known]
        old.member_id = new_id
        old.awaiting_join = old.awaiting_sync = False
        old.client_id, old.client_host = req.client_id, req.client_host
        old.last_heartbeat_ms = now_ms
        self.members[new_id] = old
        self.static_members[req.group_instance_id] = new_id
        if self.leader_id == known:
            self.leader_id = new_id
        req.member_id = new_id
        # Kafka compares what matters to the assignment: the chosen protocol's metadata
        # (a group reloaded after a restart remembers only that one).
        chosen = self.protocol_name or ""
        unchanged = any(n == chosen and md == old.metadata_for(chosen) for n, md in req.protocols)
        if self.state is GroupState.STABLE and unchanged:
            old.protocols = list(req.protocols)
            # The leader already assigned this generation: it must not redo it. JoinGroup
            # v9+ says so (skip_assignment); older versions name the old member id as
            # leader, so the returning leader acts as a follower (KIP-814).
            leads = self.leader_id == new_id
            skip = leads and req.supports_skip_assignment
            replies.append(
                JoinReply(
                    new_id,
                    generation_id=self.generation_id,
                    protocol_type=self.protocol_type,
                    protocol_name=self.protocol_name,
                    leader=known if leads and not skip else self.leader_id or "",
                    skip_assignment=skip,
                    members=self._member_list() if skip else (),
                )
            )
            return replies
        _update_member(old, req)
        old.awaiting_join = True
        replies.extend(
            self._prepare_rebalance(now_ms, f"static member {req.group_instance_id} changed")
        )
        return replies

    def _add_member(self, req: JoinRequest, now_ms: int) -> list[Reply]:
        member = Member(
            member_id=req.member_id,
            group_instance_id=req.group_instance_id,
            client_id=req.client_id,
            client_host=req.client_host,
            session_timeout_ms=req.session_timeout_ms,
            rebalance_timeout_ms=req.rebalance_timeout_ms,
            protocol_type=req.protocol_type,
            protocols=list(req.protocols),
            awaiting_join=True,
            last_heartbeat_ms=now_ms,
        )
        if not self.members:
            self.protocol_type = req.protocol_type
        self.members[member.member_id] = member
        if req.group_instance_id is not None:
            self.static_members[req.group_instance_id] = member.member_id
        if self.leader_id is None:
            self.leader_id = member.member_id
        if self.state is GroupState.PREPARING_REBALANCE and now_ms < self.hold_until_ms:
            self.new_member_added = True
        return self._prepare_rebalance(now_ms, f"member {member.member_id} joined")

    def _rejoin(self, member: Member, req: JoinRequest, now_ms: int) -> list[Reply]:
        member.last_heartbeat_ms = now_ms
        changed = member.protocols != req.protocols
        _update_member(member, req)
        if self.state is GroupState.PREPARING_REBALANCE:
            member.awaiting_join = True
            return self._maybe_complete_join(now_ms)
        if self.state is GroupState.COMPLETING_REBALANCE and not changed:
            # It lost our JoinGroup response; give the same generation again.
            return [self._join_reply(member)]
        if self.state is GroupState.STABLE and not changed and member.member_id != self.leader_id:
            return [self._join_reply(member)]
        member.awaiting_join = True
        why = "changed its protocols" if changed else "rejoined"
        return self._prepare_rebalance(now_ms, f"member {member.member_id} {why}")

    # -- rebalance --------------------------------------------------------------------

    def _prepare_rebalance(self, now_ms: int, reason: str) -> list[Reply]:
        replies: list[Reply] = []
        if self.state is GroupState.COMPLETING_REBALANCE:
            # Members waiting on a SyncGroup of the abandoned generation must rejoin.
            for m in self.members.values():
                if m.awaiting_sync:
                    m.awaiting_sync = False
                    replies.append(SyncReply(m.member_id, err.REBALANCE_IN_PROGRESS))
        if self.state is not GroupState.PREPARING_REBALANCE:
            was_empty = self.state is GroupState.EMPTY
            log.info(
                "group %s rebalancing after generation %d: %s",
                self.group_id,
                self.generation_id,
                reason,
            )
            self._transition(GroupState.PREPARING_REBALANCE, now_ms)
            timeout = max((m.rebalance_timeout_ms for m in self.members.values()), default=0)
            delay = self.initial_rebalance_delay_ms if was_empty else 0
            # A fresh group waits the initial delay (bounded by the rebalance timeout);
            # otherwise members get the full rebalance timeout to rejoin.
            self.rebalance_deadline_ms = now_ms + (min(delay, timeout) if was_empty else timeout)
            self.hold_until_ms = self.rebalance_deadline_ms if was_empty else 0
            self.hold_budget_end_ms = now_ms + timeout if was_empty else 0
            self.new_member_added = False
        replies.extend(self._maybe_complete_join(now_ms))
        return replies

    def _maybe_complete_join(self, now_ms: int) -> list[Reply]:
        if self.state is not GroupState.PREPARING_REBALANCE:
            return []
        if self.all_rejoined() and now_ms >= self.hold_until_ms:
            return self._complete_join(now_ms)
        return []

    def _complete_join(self, now_ms: int) -> list[Reply]:
        replies: list[Reply] = []
        for m in list(self.members.values()):
            if not m.awaiting_join:
                self._remove(m.member_id)
        self.generation_id += 1
        if not self.members:
            self.protocol_name = None
            self._transition(GroupState.EMPTY, now_ms)
            return replies
        if self.leader_id not in self.members or not self.members[self.leader_id].awaiting_join:
            self.leader_id = next(iter(self.members))
        self.protocol_name = self.select_protocol()
        self._transition(GroupState.COMPLETING_REBALANCE, now_ms)
        for m in self.members.values():
            m.awaiting_join = False
            m.assignment = b""
            m.last_heartbeat_ms = now_ms
            replies.append(self._join_reply(m))
        return replies

    def _member_list(self) -> tuple[tuple[str, str | None, bytes], ...]:
        proto = self.protocol_name or ""
        return tuple(
            (m.member_id, m.group_instance_id, m.metadata_for(proto)) for m in self.members.values()
        )

    def _join_reply(self, member: Member) -> JoinReply:
        is_leader = member.member_id == self.leader_id
        return JoinReply(
            member.member_id,
            generation_id=self.generation_id,
            protocol_type=self.protocol_type,
            protocol_name=self.protocol_name,
            leader=self.leader_id or "",
            members=self._member_list() if is_leader else (),
        )

    # -- SyncGroup --------------------------------------------------------------------

    def sync(
        self,
        member_id: str,
        generation_id: int,
        assignments: dict[str, bytes],
        now_ms: int,
        group_instance_id: str | None = None,
    ) -> list[Reply]:
        error = self._validate(member_id, group_instance_id)
        if error:
            return [SyncReply(member_id, error)]
        if generation_id != self.generation_id:
            return [SyncReply(member_id, err.ILLEGAL_GENERATION)]
        member = self.members[member_id]
        member.last_heartbeat_ms = now_ms
        if self.state is GroupState.PREPARING_REBALANCE:
            return [SyncReply(member_id, err.REBALANCE_IN_PROGRESS)]
        if self.state is GroupState.STABLE:
            return [self._sync_reply(member)]
        member.awaiting_sync = True
        if member_id != self.leader_id:
            return []
        for mid, m in self.members.items():
            m.assignment = assignments.get(mid, b"")
        self._transition(GroupState.STABLE, now_ms)
        replies: list[Reply] = []
        for m in self.members.values():
            if m.awaiting_sync:
                m.awaiting_sync = False
                replies.append(self._sync_reply(m))
        return replies

    def _sync_reply(self, member: Member) -> SyncReply:
        return SyncReply(
            member.member_id,
            assignment=member.assignment,
            protocol_type=self.protocol_type,
            protocol_name=self.protocol_name,
        )

    # -- Heartbeat / LeaveGroup --------------------------------------------------------

    def heartbeat(
        self, member_id: str, generation_id: int, now_ms: int, group_instance_id: str | None = None
    ) -> int:
        error = self._validate(member_id, group_instance_id)
        if error:
            return error
        member = self.members[member_id]
        member.last_heartbeat_ms = now_ms
        if generation_id != self.generation_id:
            return err.ILLEGAL_GENERATION
        if self.state is GroupState.PREPARING_REBALANCE:
            return err.REBALANCE_IN_PROGRESS
        return err.NONE

    def leave(
        self, leavers: Iterable[tuple[str, str | None]], now_ms: int
    ) -> tuple[list[int], list[Reply]]:
        """Remove members ((member_id, instance_id) pairs); returns per-member errors and replies."""
        errors: list[int] = []
        removed = False
        for member_id, instance_id in leavers:
            if instance_id is not None:
                known = self.static_members.get(instance_id)
                if known is None:
                    errors.append(err.UNKNOWN_MEMBER_ID)
                    continue
                if member_id and member_id != known:
                    errors.append(err.FENCED_INSTANCE_ID)
                    continue
                member_id = known
            if member_id in self.pending_members:
                del self.pending_members[member_id]
                errors.append(err.NONE)
                continue
            if member_id not in self.members:
                errors.append(err.UNKNOWN_MEMBER_ID)
                continue
            self._remove(member_id)
            removed = True
            errors.append(err.NONE)
        replies: list[Reply] = []
        if removed:
            replies = self._after_removal(now_ms)
        return errors, replies

    def _after_removal(self, now_ms: int) -> list[Reply]:
        if self.state in (GroupState.STABLE, GroupState.COMPLETING_REBALANCE):
            return self._prepare_rebalance(now_ms, "a member left or its session expired")
        if self.state is GroupState.PREPARING_REBALANCE:
            if not self.members:
                return self._complete_join(now_ms)
            return self._maybe_complete_join(now_ms)
        return []

    def _remove(self, member_id: str) -> None:
        member = self.members.pop(member_id)
        if member.group_instance_id is not None:
            self.static_members.pop(member.group_instance_id, None)
        if self.leader_id == member_id:
            self.leader_id = next(iter(self.members), None)

    def _validate(self, member_id: str, group_instance_id: str | None) -> int:
        if self.state is GroupState.DEAD:
            return err.COORDINATOR_NOT_AVAILABLE
        if group_instance_id is not None:
            known = self.static_members.get(group_instance_id)
            if known is not None and known != member_id:
                return err.FENCED_INSTANCE_ID
        if member_id not in self.members:
            return err.UNKNOWN_MEMBER_ID
        return err.NONE

    # -- time ---------------------------------------------------------------------------

    def tick(self, now_ms: int) -> list[Reply]:
        """Expire silent members and overdue rebalances; returns the replies that unblocks."""
        replies: list[Reply] = []
        for mid, deadline in list(self.pending_members.items()):
            if now_ms >= deadline:
                del self.pending_members[mid]
        expired = [
            m.member_id
            for m in self.members.values()
            # A member blocked in JoinGroup cannot heartbeat; the rebalance timeout covers it.
            if not m.awaiting_join and now_ms - m.last_heartbeat_ms >= m.session_timeout_ms
        ]
        for mid in expired:
            member = self.members[mid]
            if member.awaiting_sync:
                replies.append(SyncReply(mid, err.UNKNOWN_MEMBER_ID))
            self._remove(mid)
        if expired:
            replies.extend(self._after_removal(now_ms))
        if self.state is GroupState.PREPARING_REBALANCE:
            held = self.hold_until_ms and now_ms >= self.hold_until_ms
            if held and self.new_member_added and now_ms < self.hold_budget_end_ms:
                delay = min(self.initial_rebalance_delay_ms, self.hold_budget_end_ms - now_ms)
                self.hold_until_ms = self.rebalance_deadline_ms = now_ms + delay
                self.new_member_added = False
            if now_ms >= self.rebalance_deadline_ms:
                replies.extend(self._complete_join(now_ms))
            else:
                replies.extend(self._maybe_complete_join(now_ms))
        return replies

    def next_deadline_ms(self) -> int | None:
        """The earliest time `tick` could change something (for the coordinator's timer)."""
        deadlines = list(self.pending_members.values())
        deadlines += [
            m.last_heartbeat_ms + m.session_timeout_ms
            for m in self.members.values()
            if not m.awaiting_join
        ]
        if self.state is GroupState.PREPARING_REBALANCE:
            deadlines.append(self.rebalance_deadline_ms)
        return min(deadlines, default=None)

    def mark_dead(self, now_ms: int) -> None:
        self._transition(GroupState.DEAD, now_ms)


def _update_member(member: Member, req: JoinRequest) -> None:
    member.protocols = list(req.protocols)
    member.session_timeout_ms = req.session_timeout_ms
    member.rebalance_timeout_ms = req.rebalance_timeout_ms
    member.client_id = req.client_id
    member.client_host = req.client_host


def _new_member_id(prefix: str) -> str:
    return f"{prefix or 'member'}-{uuid.uuid4()}"
