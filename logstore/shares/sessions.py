"""Share sessions (KIP-932): per (group, member), the partitions a member fetches and the
epoch its next ShareFetch/ShareAcknowledge must carry.

Owns Kafka's session rules: epoch 0 opens (or replaces) a session and may carry no
acknowledgements, a positive epoch needs an open session with exactly that epoch, -1 closes
it. A session belongs to the connection that opened it and ends with it, as in Kafka. It
never reads a clock and never touches files or sockets.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

NONE = 0
INVALID_REQUEST = 42
SHARE_SESSION_NOT_FOUND = 122
INVALID_SHARE_SESSION_EPOCH = 123
INITIAL_EPOCH, FINAL_EPOCH = 0, -1
INT32_MAX = 2**31 - 1

PartitionId = tuple[uuid.UUID, int]


@dataclass
class ShareSession:
    group_id: str
    member_id: str
    epoch: int = 1
    partitions: set[PartitionId] = field(default_factory=set)
    # The client connection that opened it (0: not tied to one).
    connection: int = 0

    def advance(self) -> None:
        self.epoch = 1 if self.epoch == INT32_MAX else self.epoch + 1


class SessionRefused(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class ShareSessions:
    def __init__(self) -> None:
        self._sessions: dict[tuple[str, str], ShareSession] = {}

    def get(self, group_id: str, member_id: str) -> ShareSession | None:
        return self._sessions.get((group_id, member_id))

    def check(self, group_id: str, member_id: str, epoch: int, has_acks: bool) -> None:
        """Raise SessionRefused when a request with this epoch may not proceed."""
        if epoch == INITIAL_EPOCH:
            if has_acks:
                raise SessionRefused(
                    INVALID_REQUEST,
                    "Acknowledge data present in initial fetch request.",
                )
            return
        session = self.get(group_id, member_id)
        if session is None:
            raise SessionRefused(SHARE_SESSION_NOT_FOUND, "The share session was not found.")
        if epoch != FINAL_EPOCH and epoch != session.epoch:
            raise SessionRefused(INVALID_SHARE_SESSION_EPOCH, "The share session epoch is invalid.")

    def open(self, group_id: str, member_id: str, connection: int = 0) -> ShareSession:
        session = ShareSession(group_id, member_id, connection=connection)
        self._sessions[(group_id, member_id)] = session
        return session

    def close(self, group_id: str, member_id: str) -> ShareSession | None:
        return self._sessions.pop((group_id, member_id), None)

    def close_connection(self, connection: int) -> list[ShareSession]:
        """Close every session this connection opened; the closed ones."""
        if not connection:
            return []
        gone = [key for key, s in self._sessions.items() if s.connection == connection]
        return [self._sessions.pop(key) for key in gone]

    def of_group(self, group_id: str) -> list[ShareSession]:
        return [s for (g, _), s in self._sessions.items() if g == group_id]
