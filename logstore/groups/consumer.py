"""KIP-848 consumer groups (ConsumerGroupHeartbeat): epochs, target assignment, reconciliation.

Owns one group's members, the group epoch (bumped whenever membership, subscriptions or
the subscribed topics' partition counts change), the target assignment computed by the
server-side assignor, and each member's current assignment. A partition moves to a new
owner only after its previous owner has stopped reporting it (revoke before assign), so
two members never consume the same partition at once.

A member may subscribe by regular expression (SubscribedTopicRegex): it is matched
against the whole name of every existing non-internal topic on each heartbeat, so topics
created later join the assignment. Kafka compiles it with RE2/J; Python's `re` is used
here, which agrees on the common subset (classes, alternation, repetition, anchors) but
also accepts back-references and look-arounds, which Kafka refuses.

It never awaits, never reads a clock and never touches sockets or files: the coordinator
passes the current time, a resolver from topic names to (topic id, partition count) and
the list of topic names.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from logstore.groups import errors as err
from logstore.groups.assignor import ASSIGNORS, Assignment, assign
from logstore.storage.catalogue import INTERNAL_TOPICS

# topic name -> (topic id, partitions) or None when the topic does not exist
Resolver = Callable[[str], "tuple[uuid.UUID, int] | None"]
# Kafka's internal topics, which a regular expression never matches.

LEAVE_EPOCH = -1
STATIC_LEAVE_EPOCH = -2


@dataclass
class ConsumerMember:
    member_id: str
    instance_id: str | None = None
    rack_id: str | None = None
    client_id: str = ""
    client_host: str = ""
    rebalance_timeout_ms: int = 300_000
    subscribed: list[str] = field(default_factory=list)
    regex: str | None = None
    # Topics the regex matched when last resolved.
    regex_topics: list[str] = field(default_factory=list)
    server_assignor: str | None = None
    epoch: int = 0
    previous_epoch: int = 0
    assigned: Assignment = field(default_factory=dict)
    # What the member last said it owns (None until it tells us).
    owned: Assignment | None = None
    last_heartbeat_ms: int = 0
    # Set while the member still owns partitions it was told to give up; past it, the
    # member is fenced so the partitions can move (Kafka's rebalance timeout).
    revoke_deadline_ms: int | None = None

    def topics(self) -> list[str]:
        """Subscribed topic names: listed ones and those the regex matched."""
        if not self.regex_topics:
            return self.subscribed
        return sorted(set(self.subscribed) | set(self.regex_topics))


@dataclass(frozen=True)
class HeartbeatResult:
    error: int = err.NONE
    message: str | None = None
    member_id: str = ""
    member_epoch: int = 0
    # None = unchanged since the last response; else the full current assignment.
    assignment: Assignment | None = None


@dataclass
class HeartbeatRequest:
    member_id: str
    member_epoch: int
    instance_id: str | None = None
    rack_id: str | None = None
    rebalance_timeout_ms: int = -1
    subscribed: list[str] | None = None
    # None = unchanged; "" = no longer subscribed by regex.
    subscribed_regex: str | None = None
    server_assignor: str | None = None
    owned: Assignment | None = None
    client_id: str = ""
    client_host: str = ""


def invalid_heartbeat(req: HeartbeatRequest) -> HeartbeatResult | None:
    """What Kafka refuses in a heartbeat before it looks the group up: an assignor this
    broker lacks, a subscription regex that does not compile."""
    if req.server_assignor is not None and req.server_assignor not in ASSIGNORS:
        return HeartbeatResult(
            err.UNSUPPORTED_ASSIGNOR,
            f"ServerAssignor {req.server_assignor} is not supported. Supported assignors: "
            f"{', '.join(ASSIGNORS)}.",
        )
    if req.subscribed_regex:
        try:
            re.compile(req.subscribed_regex)
        except re.error as exc:
            return HeartbeatResult(
                err.INVALID_REGULAR_EXPRESSION,
                f"SubscribedTopicRegex {req.subscribed_regex!r} is not valid: {exc}",
            )
    return None


@dataclass
class ConsumerGroup:
    group_id: str
    session_timeout_ms: int = 45_000
    heartbeat_interval_ms: int = 5_000
    # Kafka's group.consumer.max.size
    max_size: int = 2**31 - 1
    group_epoch: int = 0
    assignment_epoch: int = 0
    members: dict[str, ConsumerMember] = field(default_factory=dict)
    target: dict[str, Assignment] = field(default_factory=dict)
    # The partition counts the target was computed from: a change bumps the epoch.
    topic_metadata: dict[str, tuple[uuid.UUID, int]] = field(default_factory=dict)
    dead: bool = False

    @property
    def state(self) -> str:
        """KIP-848 state names as ListGroups/DescribeGroups report them."""
        if self.dead:
            return "Dead"
        if not self.members:
            return "Empty"
        if self.assignment_epoch != self.group_epoch:
            return "Assigning"
        if any(m.epoch != self.group_epoch for m in self.members.values()):
            return "Reconciling"
        return "Stable"

    def heartbeat(
        self,
        req: HeartbeatRequest,
        resolve: Resolver,
        now_ms: int,
        topic_names: Callable[[], Iterable[str]] = tuple,
    ) -> HeartbeatResult:
        if self.dead:
            return HeartbeatResult(err.COORDINATOR_NOT_AVAILABLE)
        if req.member_epoch in (LEAVE_EPOCH, STATIC_LEAVE_EPOCH):
            return self.leave(req.member_id)
        member = self.members.get(req.member_id) if req.member_id else None
        if req.member_epoch == 0:
            subscribes = bool(req.subscribed) or bool(req.subscribed_regex)
            if not subscribes and (member is None or not (member.subscribed or member.regex)):
                return HeartbeatResult(err.INVALID_REQUEST, "a joining member must subscribe")
            if member is None:
                if len(self.members) >= self.max_size:
                    return HeartbeatResult(
                        err.GROUP_MAX_SIZE_REACHED, f"the group has reached {self.max_size} members"
                    )
                member = ConsumerMember(member_id=req.member_id or str(uuid.uuid4()))
                self.members[member.member_id] = member
                self.group_epoch += 1
            else:
                # A (re)join from scratch: it owns nothing now.
                member.assigned = {}
                member.owned = {}
        elif member is None:
            return HeartbeatResult(err.UNKNOWN_MEMBER_ID, f"unknown member {req.member_id!r}")
        elif req.member_epoch not in (member.epoch, member.previous_epoch):
            return HeartbeatResult(
                err.FENCED_MEMBER_EPOCH,
                f"member epoch {req.member_epoch} is not the current {member.epoch}",
            )
        member.last_heartbeat_ms = now_ms
        self._update(member, req)
        self._resolve_regexes(topic_names)
        self._refresh_target(resolve)
        return self._reconcile(member, now_ms, force=req.member_epoch == 0 or req.owned is not None)

    def _update(self, member: ConsumerMember, req: HeartbeatRequest) -> None:
        if req.instance_id is not None:
            member.instance_id = req.instance_id
        if req.rack_id is not None:
            member.rack_id = req.rack_id
        if req.rebalance_timeout_ms >= 0:
            member.rebalance_timeout_ms = req.rebalance_timeout_ms
        if req.client_id:
            member.client_id, member.client_host = req.client_id, req.client_host
        if req.server_assignor is not None:
            member.server_assignor = req.server_assignor
        if req.subscribed is not None and sorted(req.subscribed) != sorted(member.subscribed):
            member.subscribed = sorted(req.subscribed)
            self.group_epoch += 1
        if req.subscribed_regex is not None and (req.subscribed_regex or None) != member.regex:
            member.regex = req.subscribed_regex or None
            member.regex_topics = []
            self.group_epoch += 1
        if req.owned is not None:
            member.owned = req.owned

    def _resolve_regexes(self, topic_names: Callable[[], Iterable[str]]) -> None:
        regexes = {m.regex for m in self.members.values() if m.regex}
        if not regexes:
            return
        names = [n for n in topic_names() if n not in INTERNAL_TOPICS]
        matched = {r: sorted(n for n in names if re.fullmatch(r, n)) for r in regexes}
        for m in self.members.values():
            found = matched[m.regex] if m.regex else []
            if found != m.regex_topics:
                m.regex_topics = found
                self.group_epoch += 1

    def _refresh_target(self, resolve: Resolver) -> None:
        names = sorted(self.subscribed_topics())
        metadata = {}
        for name in names:
            found = resolve(name)
            if found is not None:
                metadata[name] = found
        if metadata != self.topic_metadata:
            self.topic_metadata = metadata
            self.group_epoch += 1
        if self.assignment_epoch == self.group_epoch:
            return
        subs = {
            m.member_id: [self.topic_metadata[t][0] for t in m.topics() if t in self.topic_metadata]
            for m in self.members.values()
        }
        counts = dict(self.topic_metadata.values())
        chosen = next((m.server_assignor for m in self.members.values() if m.server_assignor), None)
        self.target = assign(chosen or "uniform", subs, counts)
        self.assignment_epoch = self.group_epoch

    def _held_elsewhere(self, member_id: str) -> set[tuple[uuid.UUID, int]]:
        held: set[tuple[uuid.UUID, int]] = set()
        for other in self.members.values():
            if other.member_id == member_id:
                continue
            for source in (other.assigned, other.owned or {}):
                held.update((t, p) for t, ps in source.items() for p in ps)
        return held

    def _reconcile(self, member: ConsumerMember, now_ms: int, *, force: bool) -> HeartbeatResult:
        target = self.target.get(member.member_id, {})
        held = self._held_elsewhere(member.member_id)
        new: Assignment = {}
        for topic, parts in target.items():
            keep = {p for p in parts if p in member.assigned.get(topic, set())}
            free = {p for p in parts if (topic, p) not in held}
            if keep | free:
                new[topic] = keep | free
        changed = new != member.assigned
        member.assigned = new
        owned = member.owned or {}
        revoking = any(p not in new.get(t, set()) for t, ps in owned.items() for p in ps)
        if not revoking:
            member.revoke_deadline_ms = None
        elif member.revoke_deadline_ms is None:
            member.revoke_deadline_ms = now_ms + member.rebalance_timeout_ms
        if new == target and member.epoch != self.assignment_epoch:
            member.previous_epoch, member.epoch = member.epoch, self.assignment_epoch
            changed = True
        if member.epoch == 0:
            # A joiner always leaves with a real epoch, even while waiting on revocations.
            member.previous_epoch, member.epoch = 0, self.assignment_epoch
            changed = True
        return HeartbeatResult(
            member_id=member.member_id,
            member_epoch=member.epoch,
            assignment={t: set(p) for t, p in new.items()} if changed or force else None,
        )

    def leave(self, member_id: str) -> HeartbeatResult:
        if member_id not in self.members:
            return HeartbeatResult(err.UNKNOWN_MEMBER_ID, f"unknown member {member_id!r}")
        del self.members[member_id]
        self.target.pop(member_id, None)
        self.group_epoch += 1
        return HeartbeatResult(member_id=member_id, member_epoch=LEAVE_EPOCH)

    def tick(self, now_ms: int) -> list[str]:
        """Remove members silent for a session timeout, or still holding revoked partitions
        after their rebalance timeout; returns their ids."""
        gone = [
            m.member_id
            for m in self.members.values()
            if now_ms - m.last_heartbeat_ms >= self.session_timeout_ms
            or (m.revoke_deadline_ms is not None and now_ms >= m.revoke_deadline_ms)
        ]
        for member_id in gone:
            self.leave(member_id)
        return gone

    def next_deadline_ms(self) -> int | None:
        deadlines = [m.last_heartbeat_ms + self.session_timeout_ms for m in self.members.values()]
        deadlines += [
            m.revoke_deadline_ms for m in self.members.values() if m.revoke_deadline_ms is not None
        ]
        return min(deadlines, default=None)

    def subscribed_topics(self) -> set[str]:
        return {t for m in self.members.values() for t in m.topics()}


def to_assignment(pairs: Iterable[tuple[uuid.UUID, Iterable[int]]]) -> Assignment:
    out: Assignment = {}
    for topic, parts in pairs:
        out.setdefault(topic, set()).update(int(p) for p in parts)
    return out
