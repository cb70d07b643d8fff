"""Share-group membership driven by ShareGroupHeartbeat, and the broker's assignment.

Owns one share group's members, their subscriptions, the group epoch and what each member
was last told it is assigned. Locks are per record, so every member subscribed to a topic
is assigned every partition of it: members come and go without anyone giving anything up.
It never reads a clock, never awaits and never touches files or sockets: callers pass the
current time and a resolver from topic names to (topic id, partition count).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

NONE = 0
INVALID_REQUEST = 42
UNKNOWN_MEMBER_ID = 25
FENCED_MEMBER_EPOCH = 110
GROUP_MAX_SIZE_REACHED = 81
LEAVE_EPOCH = -1

Resolver = Callable[[str], "tuple[uuid.UUID, int] | None"]
# topic id -> sorted partitions
ShareAssignment = dict[uuid.UUID, list[int]]


@dataclass
class ShareMember:
    member_id: str
    client_id: str = ""
    client_host: str = ""
    rack_id: str | None = None
    subscribed: list[str] = field(default_factory=list)
    epoch: int = 0
    last_heartbeat_ms: int = 0
    # What the member was last sent (None: nothing sent yet).
    sent: ShareAssignment | None = None


@dataclass(frozen=True)
class ShareHeartbeatResult:
    error: int = NONE
    message: str | None = None
    member_id: str = ""
    member_epoch: int = 0
    # None = unchanged since the last answer; else the whole assignment.
    assignment: ShareAssignment | None = None


@dataclass
class ShareGroup:
    group_id: str
    group_epoch: int = 0
    members: dict[str, ShareMember] = field(default_factory=dict)

    @property
    def state(self) -> str:
        return "Stable" if self.members else "Empty"

    def heartbeat(
        self,
        member_id: str,
        member_epoch: int,
        subscribed: list[str] | None,
        now_ms: int,
        resolve: Resolver,
        max_size: int,
        client_id: str = "",
        client_host: str = "",
        rack_id: str | None = None,
    ) -> ShareHeartbeatResult:
        if not member_id:
            return ShareHeartbeatResult(INVALID_REQUEST, "MemberId can't be empty.")
        if member_epoch == LEAVE_EPOCH:
            if member_id not in self.members:
                return ShareHeartbeatResult(
                    UNKNOWN_MEMBER_ID,
                    f"Member {member_id} is not a member of group {self.group_id}.",
                )
            self.remove(member_id)
            return ShareHeartbeatResult(member_id=member_id, member_epoch=LEAVE_EPOCH)
        member = self.members.get(member_id)
        if member_epoch == 0:
            if not subscribed and (member is None or not member.subscribed):
                return ShareHeartbeatResult(
                    INVALID_REQUEST, "SubscribedTopicNames must be set in first request."
                )
            if member is None:
                if len(self.members) >= max_size:
                    return ShareHeartbeatResult(
                        GROUP_MAX_SIZE_REACHED,
                        f"The share group has reached its maximum capacity of {max_size} members.",
                    )
                member = ShareMember(member_id, client_id, client_host, rack_id)
                self.members[member_id] = member
                self.group_epoch += 1
            member.sent = None
        elif member is None:
            return ShareHeartbeatResult(
                UNKNOWN_MEMBER_ID, f"Member {member_id} is not a member of group {self.group_id}."
            )
        elif member_epoch != member.epoch:
            return ShareHeartbeatResult(
                FENCED_MEMBER_EPOCH,
                f"The share group member has a smaller member epoch ({member_epoch}) than the "
                f"one known by the group coordinator ({member.epoch}).",
            )
        if subscribed is not None and sorted(subscribed) != sorted(member.subscribed):
            member.subscribed = sorted(set(subscribed))
            self.group_epoch += 1
        member.last_heartbeat_ms = now_ms
        member.epoch = self.group_epoch
        target = self.assignment_of(member, resolve)
        changed = target != member.sent
        if changed:
            member.sent = target
        return ShareHeartbeatResult(
            member_id=member_id,
            member_epoch=member.epoch,
            assignment=target if changed else None,
        )

    @staticmethod
    def assignment_of(member: ShareMember, resolve: Resolver) -> ShareAssignment:
        out: ShareAssignment = {}
        for topic in member.subscribed:
            found = resolve(topic)
            if found is not None and found[1] > 0:
                out[found[0]] = list(range(found[1]))
        return out

    def remove(self, member_id: str) -> None:
        if self.members.pop(member_id, None) is not None:
            self.group_epoch += 1

    def expired(self, now_ms: int, session_timeout_ms: int) -> list[str]:
        """Members whose last heartbeat is older than the session timeout."""
        return [
            m.member_id
            for m in self.members.values()
            if now_ms - m.last_heartbeat_ms > session_timeout_ms
        ]
