"""Differential: the JoinGroup / SyncGroup / Heartbeat / LeaveGroup sequence of static
members, frame by frame (kio-encoded requests on raw connections, so no client library
retries or hides an error): first join, a restarted instance replacing its old member id,
the fenced old id, wrong ids, a pending dynamic member, a leader rejoin, leaving by
instance id. Both brokers are the session's (no initial rebalance delay on either)."""

from __future__ import annotations

import datetime
import time
import uuid
from typing import Any

import pytest
from kio.schema.find_coordinator.v2.request import FindCoordinatorRequest
from kio.schema.find_coordinator.v2.response import FindCoordinatorResponse
from kio.schema.heartbeat.v3.request import HeartbeatRequest
from kio.schema.heartbeat.v3.response import HeartbeatResponse
from kio.schema.join_group.v5.request import JoinGroupRequest, JoinGroupRequestProtocol
from kio.schema.join_group.v5.response import JoinGroupResponse
from kio.schema.leave_group.v3.request import LeaveGroupRequest, MemberIdentity
from kio.schema.leave_group.v3.response import LeaveGroupResponse
from kio.schema.sync_group.v3.request import SyncGroupRequest, SyncGroupRequestAssignment
from kio.schema.sync_group.v3.response import SyncGroupResponse
from kio.schema.types import GroupId
from kio.static.primitive import i8, i32, i32Timedelta

from tests.clusters import Cluster
from tests.differential.harness import TIMEOUT, assert_same, observe
from tests.differential.wire import decode, encode, exchange, frame

pytestmark = pytest.mark.kafka

JOIN_GROUP, SYNC_GROUP, HEARTBEAT, LEAVE_GROUP, FIND_COORDINATOR = 11, 14, 12, 13, 10
# A consumer-protocol subscription (version 1) to topic "t".
NOT_READY = ("not_coordinator", "coordinator_not_available", "coordinator_load_in_progress")
SUBSCRIPTION = b"\x00\x01\x00\x00\x00\x01\x00\x01t\xff\xff\xff\xff\x00\x00\x00\x00"


class Session:
    """One group on one cluster; member ids are reported as labels in order of first
    appearance (they are random on both brokers)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.group = GroupId(f"static-wire-{uuid.uuid4().hex[:8]}")
        self.labels: dict[str, str] = {"": ""}

    def label(self, member_id: str) -> str:
        if member_id not in self.labels:
            prefix = member_id.rsplit("-", 5)[0]  # instance id or client id + "-" + UUID
            self.labels[member_id] = f"{prefix}#{len(self.labels)}"
        return self.labels[member_id]

    def _call(self, api: int, version: int, request: Any, response: type) -> Any:
        reply = exchange(self.cluster.bootstrap, frame(api, version, 7, encode(request)))
        assert isinstance(reply, bytes), f"{self.cluster.name}: {reply}"
        return decode(response, reply[4:])

    def join(self, member_id: str = "", instance: str | None = "i-1") -> dict[str, Any]:
        request = JoinGroupRequest(
            group_id=self.group,
            session_timeout=i32Timedelta.parse(datetime.timedelta(seconds=10)),
            rebalance_timeout=i32Timedelta.parse(datetime.timedelta(seconds=10)),
            member_id=member_id,
            group_instance_id=instance,
            protocol_type="consumer",
            protocols=(JoinGroupRequestProtocol(name="range", metadata=SUBSCRIPTION),),
        )
        r = self._call(JOIN_GROUP, 5, request, JoinGroupResponse)
        return {
            "error": r.error_code.name,
            "generation": int(r.generation_id),
            "protocol": r.protocol_name,
            "member": self.label(r.member_id),
            "leader": self.label(r.leader),
            "members": [(self.label(m.member_id), m.group_instance_id) for m in r.members],
        }

    def ready(self) -> dict[str, Any]:
        """The first join, once the broker coordinates the group: a fresh Kafka creates
        `__consumer_offsets` on the first FindCoordinator and answers NOT_COORDINATOR
        until it is loaded."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            lookup = FindCoordinatorRequest(key=self.group, key_type=i8(0))
            found = self._call(FIND_COORDINATOR, 2, lookup, FindCoordinatorResponse)
            if found.error_code.name == "none":
                joined = self.join()
                if joined["error"] not in NOT_READY:
                    return joined
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.cluster.name} never coordinated {self.group}")
            time.sleep(0.2)  # polling the coordinator's readiness

    def sync(self, member: str, generation: int, assignment: bytes | None = None) -> Any:
        assignments = (
            ()
            if assignment is None
            else (SyncGroupRequestAssignment(member_id=member, assignment=assignment),)
        )
        request = SyncGroupRequest(
            group_id=self.group,
            generation_id=i32(generation),
            member_id=member,
            group_instance_id="i-1",
            assignments=assignments,
        )
        r = self._call(SYNC_GROUP, 3, request, SyncGroupResponse)
        return (r.error_code.name, bytes(r.assignment))

    def heartbeat(self, member: str, generation: int, instance: str | None = "i-1") -> str:
        request = HeartbeatRequest(
            group_id=self.group,
            generation_id=i32(generation),
            member_id=member,
            group_instance_id=instance,
        )
        return str(self._call(HEARTBEAT, 3, request, HeartbeatResponse).error_code.name)

    def leave(self, member: str, instance: str | None) -> Any:
        request = LeaveGroupRequest(
            group_id=self.group,
            members=(MemberIdentity(member_id=member, group_instance_id=instance),),
        )
        r = self._call(LEAVE_GROUP, 3, request, LeaveGroupResponse)
        return (r.error_code.name, [m.error_code.name for m in r.members])

    def member_id(self, label: str) -> str:
        return next(mid for mid, lab in self.labels.items() if lab == label)


def test_static_member_join_sync_heartbeat_sequence(clusters: tuple[Cluster, ...]) -> None:
    def scenario(cluster: Cluster) -> dict[str, Any]:
        s = Session(cluster)
        seen: dict[str, Any] = {}
        seen["join"] = s.ready()
        first = s.member_id(seen["join"]["member"])
        seen["sync"] = s.sync(first, 1, b"assignment-1")
        seen["heartbeat"] = s.heartbeat(first, 1)
        # The instance restarts: a join with no member id replaces the old id, same generation.
        seen["replace"] = s.join()
        second = s.member_id(seen["replace"]["member"])
        seen["old_id_heartbeat"] = s.heartbeat(first, 1)
        seen["old_id_sync"] = s.sync(first, 1)
        seen["new_id_heartbeat"] = s.heartbeat(second, 1)
        seen["new_id_sync"] = s.sync(second, 1)
        seen["wrong_member_known_instance"] = s.join("bogus-member", "i-1")["error"]
        seen["unknown_instance_with_member_id"] = s.join("bogus-member", "i-9")["error"]
        seen["heartbeat_wrong_generation"] = s.heartbeat(second, 7)
        # A dynamic member asked for its id is pending, not a member yet.
        pending = s.join(instance=None)
        seen["pending"] = pending["error"]
        seen["pending_heartbeat"] = s.heartbeat(s.member_id(pending["member"]), 1, None)
        seen["pending_leave"] = s.leave(s.member_id(pending["member"]), None)
        # The leader rejoining a stable group starts a new generation.
        seen["leader_rejoin"] = s.join(second)
        seen["leave_by_instance"] = s.leave("", "i-1")
        seen["leave_again"] = s.leave("", "i-1")
        return seen

    seen = observe(clusters, scenario)
    kafka = seen["kafka"]
    assert kafka["join"]["error"] == "none"
    assert kafka["sync"] == ("none", b"assignment-1")
    assert kafka["old_id_heartbeat"] == "fenced_instance_id"
    assert kafka["new_id_sync"] == ("none", b"assignment-1")
    assert_same(seen)
