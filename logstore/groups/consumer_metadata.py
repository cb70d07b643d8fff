"""KIP-848 consumer group records in `__consumer_offsets`, and a group rebuilt from one.

Owns the record that makes a consumer group survive a broker restart: its group and
assignment epochs, the target assignment, the topic metadata the target was computed
from, and every member (identity, subscriptions, member epochs, assigned partitions).
Kafka spreads the same facts over several record types (ConsumerGroupMetadata, member
metadata, target assignment, current member assignment, key versions 3 to 8); here they
are one record per group, under a key version Kafka does not use (`KEY_VERSION`), with a
JSON value, so a restart replays one record per group and latest wins. A null value is a
tombstone.

It must never append, read files or await (the coordinator does).
"""

from __future__ import annotations

import json
import struct
import uuid
from typing import Any

from logstore.groups.assignor import Assignment
from logstore.groups.consumer import ConsumerGroup, ConsumerMember

KEY_VERSION = 1000
VALUE_VERSION = 0
_I16 = struct.Struct(">h")


def encode_key(group_id: str) -> bytes:
    raw = group_id.encode()
    return _I16.pack(KEY_VERSION) + _I16.pack(len(raw)) + raw


def decode_key(buf: bytes) -> str | None:
    """The group id of a consumer group record; None for other record kinds."""
    if len(buf) < 4 or _I16.unpack_from(buf, 0)[0] != KEY_VERSION:
        return None
    (n,) = _I16.unpack_from(buf, 2)
    raw = buf[4 : 4 + n]
    if n < 0 or len(raw) != n:
        return None
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return None


def _assignment(value: Assignment) -> dict[str, list[int]]:
    return {str(t): sorted(ps) for t, ps in sorted(value.items(), key=lambda kv: str(kv[0]))}


def _read_assignment(value: dict[str, list[int]]) -> Assignment:
    return {uuid.UUID(t): set(ps) for t, ps in value.items()}


def state_of(group: ConsumerGroup) -> dict[str, Any]:
    """Everything a restart needs of `group` (also its change signature)."""
    return {
        "v": VALUE_VERSION,
        "group_epoch": group.group_epoch,
        "assignment_epoch": group.assignment_epoch,
        "topics": {n: [str(t), c] for n, (t, c) in sorted(group.topic_metadata.items())},
        "target": {m: _assignment(a) for m, a in sorted(group.target.items())},
        "members": [
            {
                "id": m.member_id,
                "instance": m.instance_id,
                "rack": m.rack_id,
                "client": m.client_id,
                "host": m.client_host,
                "rebalance_timeout": m.rebalance_timeout_ms,
                "subscribed": m.subscribed,
                "regex": m.regex,
                "regex_topics": m.regex_topics,
                "assignor": m.server_assignor,
                "epoch": m.epoch,
                "previous_epoch": m.previous_epoch,
                "assigned": _assignment(m.assigned),
                # Partitions it may still be giving up must not move before it confirms.
                "owned": None if m.owned is None else _assignment(m.owned),
            }
            for m in group.members.values()
        ],
    }


def encode_value(state: dict[str, Any]) -> bytes:
    return json.dumps(state, separators=(",", ":"), sort_keys=True).encode()


def decode_value(buf: bytes) -> dict[str, Any]:
    state = json.loads(buf)
    if not isinstance(state, dict) or state.get("v") != VALUE_VERSION:
        raise ValueError("unknown consumer group record version")
    return state


def restore(group: ConsumerGroup, state: dict[str, Any], now_ms: int) -> ConsumerGroup:
    """Fill a fresh `group` from `state`; members' sessions start at `now_ms`."""
    group.group_epoch = int(state["group_epoch"])
    group.assignment_epoch = int(state["assignment_epoch"])
    group.topic_metadata = {n: (uuid.UUID(t), int(c)) for n, (t, c) in state["topics"].items()}
    group.target = {m: _read_assignment(a) for m, a in state["target"].items()}
    for m in state["members"]:
        group.members[m["id"]] = ConsumerMember(
            member_id=m["id"],
            instance_id=m["instance"],
            rack_id=m["rack"],
            client_id=m["client"],
            client_host=m["host"],
            rebalance_timeout_ms=int(m["rebalance_timeout"]),
            subscribed=list(m["subscribed"]),
            regex=m["regex"],
            regex_topics=list(m["regex_topics"]),
            server_assignor=m["assignor"],
            epoch=int(m["epoch"]),
            previous_epoch=int(m["previous_epoch"]),
            assigned=_read_assignment(m["assigned"]),
            owned=None if m["owned"] is None else _read_assignment(m["owned"]),
            last_heartbeat_ms=now_ms,
        )
    return group
