"""Classic group metadata records in `__consumer_offsets`, and a group rebuilt from one.

Owns the key/value layout of Kafka's GroupMetadataKey (version 2: the group id) and
GroupMetadataValue (version 3: protocol type, generation, protocol, leader, the time the
group entered its state, and each member with its instance id, timeouts, subscription and
assignment), `snapshot` (what of a `ClassicGroup` is worth persisting: a group that is
Stable or Empty) and `restore` (the group a restarted coordinator serves: Stable with its
members, each given a fresh session to heartbeat in, or Empty). A null value is a
tombstone: the group was deleted.

It must never append, read files or await (the coordinator does), and never decide a
state transition beyond rebuilding one loaded group.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from logstore.groups.state import ClassicGroup, GroupState, Member

KEY_VERSION = 2
VALUE_VERSION = 3

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")


@dataclass(frozen=True)
class MemberRecord:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    rebalance_timeout_ms: int
    session_timeout_ms: int
    subscription: bytes
    assignment: bytes


@dataclass(frozen=True)
class GroupRecord:
    protocol_type: str
    generation_id: int
    protocol_name: str | None
    leader_id: str | None
    state_timestamp_ms: int  # wall clock, when the group entered its current state
    members: tuple[MemberRecord, ...]


class _Writer:
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def string(self, value: str | None) -> None:
        if value is None:
            self.parts.append(_I16.pack(-1))
            return
        raw = value.encode()
        self.parts.append(_I16.pack(len(raw)) + raw)

    def bytes_(self, value: bytes) -> None:
        self.parts.append(_I32.pack(len(value)) + value)

    def i32(self, value: int) -> None:
        self.parts.append(_I32.pack(value))

    def i64(self, value: int) -> None:
        self.parts.append(_I64.pack(value))


class _Reader:
    def __init__(self, buf: bytes, pos: int = 0) -> None:
        self.buf, self.pos = buf, pos

    def _take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.buf):
            raise ValueError("group metadata record is truncated")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def i16(self) -> int:
        return int(_I16.unpack(self._take(2))[0])

    def i32(self) -> int:
        return int(_I32.unpack(self._take(4))[0])

    def i64(self) -> int:
        return int(_I64.unpack(self._take(8))[0])

    def string(self) -> str | None:
        n = self.i16()
        return None if n < 0 else self._take(n).decode()

    def bytes_(self) -> bytes:
        return self._take(self.i32())


def encode_key(group_id: str) -> bytes:
    w = _Writer()
    w.string(group_id)
    return _I16.pack(KEY_VERSION) + b"".join(w.parts)


def decode_key(buf: bytes) -> str | None:
    """The group id of a group metadata record; None for other record kinds."""
    r = _Reader(buf)
    try:
        return r.string() if r.i16() == KEY_VERSION else None
    except (ValueError, UnicodeDecodeError):
        return None


def encode_value(record: GroupRecord) -> bytes:
    w = _Writer()
    w.string(record.protocol_type)
    w.i32(record.generation_id)
    w.string(record.protocol_name)
    w.string(record.leader_id)
    w.i64(record.state_timestamp_ms)
    w.i32(len(record.members))
    for m in record.members:
        w.string(m.member_id)
        w.string(m.group_instance_id)
        w.string(m.client_id)
        w.string(m.client_host)
        w.i32(m.rebalance_timeout_ms)
        w.i32(m.session_timeout_ms)
        w.bytes_(m.subscription)
        w.bytes_(m.assignment)
    return _I16.pack(VALUE_VERSION) + b"".join(w.parts)


def decode_value(buf: bytes) -> GroupRecord:
    r = _Reader(buf)
    version = r.i16()
    if not 0 <= version <= VALUE_VERSION:
        raise ValueError(f"unknown group metadata version {version}")
    protocol_type = r.string() or ""
    generation = r.i32()
    protocol_name = r.string()
    leader = r.string()
    state_ts = r.i64() if version >= 2 else -1
    members = []
    for _ in range(r.i32()):
        member_id = r.string() or ""
        instance_id = r.string() if version >= 3 else None
        client_id = r.string() or ""
        client_host = r.string() or ""
        rebalance = r.i32() if version >= 1 else -1
        session = r.i32()
        if rebalance < 0:
            rebalance = session
        members.append(
            MemberRecord(
                member_id,
                instance_id,
                client_id,
                client_host,
                rebalance,
                session,
                r.bytes_(),
                r.bytes_(),
            )
        )
    return GroupRecord(protocol_type, generation, protocol_name, leader, state_ts, tuple(members))


def snapshot(group: ClassicGroup, state_timestamp_ms: int) -> GroupRecord | None:
    """What a restart should bring back of `group`; None while it is rebalancing (Kafka
    writes a group's metadata only once its assignment is known, or when it empties)."""
    if group.state not in (GroupState.STABLE, GroupState.EMPTY) or not group.protocol_type:
        return None
    proto = group.protocol_name or ""
    return GroupRecord(
        protocol_type=group.protocol_type,
        generation_id=group.generation_id,
        protocol_name=group.protocol_name,
        leader_id=group.leader_id if group.members else None,
        state_timestamp_ms=state_timestamp_ms,
        members=tuple(
            MemberRecord(
                m.member_id,
                m.group_instance_id,
                m.client_id,
                m.client_host,
                m.rebalance_timeout_ms,
                m.session_timeout_ms,
                m.metadata_for(proto),
                m.assignment,
            )
            for m in group.members.values()
        ),
    )


def restore(group: ClassicGroup, record: GroupRecord, now_ms: int) -> ClassicGroup:
    """Fill a fresh `group` with what was persisted; members' sessions start at `now_ms`."""
    group.generation_id = record.generation_id
    group.protocol_type = record.protocol_type
    group.protocol_name = record.protocol_name
    for m in record.members:
        group.members[m.member_id] = Member(
            member_id=m.member_id,
            group_instance_id=m.group_instance_id,
            client_id=m.client_id,
            client_host=m.client_host,
            session_timeout_ms=m.session_timeout_ms,
            rebalance_timeout_ms=m.rebalance_timeout_ms,
            protocol_type=record.protocol_type,
            protocols=[(record.protocol_name or "", m.subscription)],
            assignment=m.assignment,
            last_heartbeat_ms=now_ms,
        )
        if m.group_instance_id is not None:
            group.static_members[m.group_instance_id] = m.member_id
    if group.members:
        group.state = GroupState.STABLE
        group.leader_id = (
            record.leader_id if record.leader_id in group.members else next(iter(group.members))
        )
    return group
