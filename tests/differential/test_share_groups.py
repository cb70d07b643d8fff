"""Differential: share-group misuse answered with Apache Kafka's error codes.

Kafka's console share consumer and `kafka-share-groups.sh --describe` see the same on both.
Raw ShareGroupHeartbeat, ShareFetch, ShareAcknowledge and ShareGroupDescribe (all v1) over
fresh connections (share sessions belong to the broker, not to a connection), and group
configs through the admin client. Observations keep error codes, member epochs only as
"positive", and acquired offset ranges with their delivery counts.
"""

from __future__ import annotations

import datetime
import socket
import struct
import subprocess
import time
import uuid
from typing import Any

import pytest
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType
from kio.index import load_payload_module
from kio.static.constants import EntityType

from reference.launcher import java_command
from tests.clusters import Cluster
from tests.differential.harness import (
    TIMEOUT,
    admin,
    assert_same,
    create_topic,
    error_name,
    observe,
    produce,
    unique_topic,
)
from tests.differential.wire import decode, encode, exchange, frame

pytestmark = pytest.mark.kafka

METADATA, HEARTBEAT, DESCRIBE, SHARE_FETCH, SHARE_ACK = 3, 76, 77, 78, 79
ACCEPT = 1
ACQUIRE_DEADLINE_S = 20.0
COORDINATOR_LOADING = (14, 15, 16)


def _response_cls(api_key: int, version: int) -> type:
    resp = load_payload_module(api_key, version, EntityType.response)
    return next(
        v
        for v in vars(resp).values()
        if getattr(v, "__type__", None) is EntityType.response and v.__module__ == resp.__name__
    )


def _call(cluster: Cluster, api_key: int, version: int, entity: str, **fields: Any) -> Any:
    """One request on a fresh connection."""
    req = load_payload_module(api_key, version, EntityType.request)
    body = encode(getattr(req, entity)(**fields))
    reply = exchange(cluster.bootstrap, frame(api_key, version, 1, body, flexible=True))
    assert isinstance(reply, bytes), reply
    return decode(_response_cls(api_key, version), reply[5:])


class Conn:
    """One member's connection: Kafka ties a share session to the connection that opened
    it, so ShareFetch and ShareAcknowledge of one session travel on one socket."""

    def __init__(self, cluster: Cluster) -> None:
        host, port = cluster.bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=TIMEOUT)
        self.correlation = 0

    def call(self, api_key: int, version: int, entity: str, **fields: Any) -> Any:
        req = load_payload_module(api_key, version, EntityType.request)
        self.correlation += 1
        body = encode(getattr(req, entity)(**fields))
        self.sock.sendall(frame(api_key, version, self.correlation, body, flexible=True))
        (size,) = struct.unpack(">i", self._read(4))
        return decode(_response_cls(api_key, version), self._read(size)[5:])

    def _read(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            assert chunk, "broker closed the connection"
            buf += chunk
        return buf

    def close(self) -> None:
        self.sock.close()


def _nested(api_key: int, entity: str, **fields: Any) -> Any:
    return getattr(load_payload_module(api_key, 1, EntityType.request), entity)(**fields)


def topic_id(cluster: Cluster, topic: str) -> uuid.UUID:
    topics = (_nested_metadata(topic),)
    reply = _call(
        cluster,
        METADATA,
        12,
        "MetadataRequest",
        topics=topics,
        allow_auto_topic_creation=False,
        include_topic_authorized_operations=False,
    )
    return reply.topics[0].topic_id


def _nested_metadata(topic: str) -> Any:
    mod = load_payload_module(METADATA, 12, EntityType.request)
    return mod.MetadataRequestTopic(topic_id=uuid.UUID(int=0), name=topic)


def heartbeat(
    cluster: Cluster, group: str, member: str, epoch: int, topics: list[str] | None
) -> Any:
    return _call(
        cluster,
        HEARTBEAT,
        1,
        "ShareGroupHeartbeatRequest",
        group_id=group,
        member_id=member,
        member_epoch=epoch,
        rack_id=None,
        subscribed_topic_names=None if topics is None else tuple(topics),
    )


def _acks(acks: list[tuple[int, int]]) -> tuple[Any, ...]:
    return tuple(
        _nested(SHARE_FETCH, "AcknowledgementBatch", first_offset=f, last_offset=la,
                acknowledge_types=(ACCEPT,))
        for f, la in acks
    )  # fmt: skip


def share_fetch(
    conn: Conn,
    group: str,
    member: str,
    epoch: int,
    tid: uuid.UUID | None,
    acks: list[tuple[int, int]] = (),  # type: ignore[assignment]
) -> Any:
    parts = (
        _nested(SHARE_FETCH, "FetchPartition", partition_index=0,
                acknowledgement_batches=_acks(list(acks))),
    )  # fmt: skip
    topics = (_nested(SHARE_FETCH, "FetchTopic", topic_id=tid, partitions=parts),) if tid else ()
    return conn.call(
        SHARE_FETCH,
        1,
        "ShareFetchRequest",
        group_id=group,
        member_id=member,
        share_session_epoch=epoch,
        max_wait=datetime.timedelta(milliseconds=200),
        min_bytes=1,
        max_bytes=1 << 20,
        max_records=500,
        batch_size=500,
        topics=topics,
        forgotten_topics_data=(),
    )


def share_ack(conn: Conn, group: str, member: str, epoch: int, tid: uuid.UUID, acks: list) -> Any:
    parts = (
        _nested(SHARE_ACK, "AcknowledgePartition", partition_index=0,
                acknowledgement_batches=tuple(
                    _nested(SHARE_ACK, "AcknowledgementBatch", first_offset=f, last_offset=la,
                            acknowledge_types=(ACCEPT,))
                    for f, la in acks
                )),
    )  # fmt: skip
    return conn.call(
        SHARE_ACK,
        1,
        "ShareAcknowledgeRequest",
        group_id=group,
        member_id=member,
        share_session_epoch=epoch,
        topics=(_nested(SHARE_ACK, "AcknowledgeTopic", topic_id=tid, partitions=parts),),
    )


def _acquired(reply: Any) -> list[tuple[int, int, int]]:
    return [
        (int(a.first_offset), int(a.last_offset), int(a.delivery_count))
        for t in reply.responses
        for p in t.partitions
        for a in p.acquired_records
    ]


def _part_errors(reply: Any) -> list[tuple[int, int]]:
    return [
        (int(p.error_code), int(getattr(p, "acknowledge_error_code", 0)))
        for t in reply.responses
        for p in t.partitions
    ]


def set_group_config(cluster: Cluster, group: str, name: str, value: str) -> str:
    entry = ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ResourceType.GROUP, group, incremental_configs=[entry])
    client = admin(cluster)  # kept alive until the answer is in
    try:
        for future in client.incremental_alter_configs([resource]).values():
            future.result(TIMEOUT)
    except Exception as exc:
        return error_name(exc)
    return "NONE"


def wait_coordinator(cluster: Cluster, group: str) -> None:
    """A fresh Kafka creates its offsets topic on first use: wait until the coordinator
    answers (Odradek answers at once)."""
    deadline = time.monotonic() + ACQUIRE_DEADLINE_S
    while heartbeat(cluster, group, "probe", 3, None).error_code in COORDINATOR_LOADING:
        assert time.monotonic() < deadline, "the group coordinator never became available"
        # FindCoordinator is what makes Kafka create its offsets topic.
        _call(cluster, 10, 4, "FindCoordinatorRequest", key_type=0, coordinator_keys=(group,))
        time.sleep(0.2)  # polling the reference's readiness, not waiting for time to pass


def _join(cluster: Cluster, group: str, member: str, topic: str) -> int:
    reply = heartbeat(cluster, group, member, 0, [topic])
    assert reply.error_code == 0, reply
    return int(reply.member_epoch)


def _open_and_acquire(
    conn: Conn, group: str, member: str, tid: uuid.UUID
) -> tuple[int, list[tuple[int, int, int]]]:
    """Open a session and fetch until records arrive: (next epoch, acquired)."""
    reply = share_fetch(conn, group, member, 0, tid)
    epoch, acquired = 1, _acquired(reply)
    deadline = time.monotonic() + ACQUIRE_DEADLINE_S
    while not acquired and time.monotonic() < deadline:
        reply = share_fetch(conn, group, member, epoch, tid)
        epoch, acquired = epoch + 1, _acquired(reply)
    return epoch, acquired


def _sessions(
    conn_a: Conn, conn_b: Conn, group: str, a: str, b: str, tid: uuid.UUID
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    out["fetch no session"] = int(share_fetch(conn_a, group, a, 3, tid).error_code)
    out["fetch initial with acks"] = int(share_fetch(conn_a, group, a, 0, tid, [(0, 0)]).error_code)
    out["ack initial epoch"] = int(share_ack(conn_a, group, a, 0, tid, [(0, 0)]).error_code)
    out["ack no session"] = int(share_ack(conn_a, group, a, 4, tid, [(0, 0)]).error_code)
    next_a, acquired = _open_and_acquire(conn_a, group, a, tid)
    out["acquired"] = acquired
    out["fetch wrong epoch"] = int(share_fetch(conn_a, group, a, next_a + 7, tid).error_code)
    # b opens its own session and acknowledges what a holds: refused per partition.
    out["b sees nothing"] = _acquired(share_fetch(conn_b, group, b, 0, tid))
    foreign = share_ack(conn_b, group, b, 1, tid, [(0, 4)])
    out["foreign ack"] = (int(foreign.error_code), _part_errors(foreign))
    beyond = share_ack(conn_a, group, a, next_a, tid, [(50, 60)])
    out["ack beyond"] = (int(beyond.error_code), _part_errors(beyond))
    ok = share_ack(conn_a, group, a, next_a + 1, tid, [(0, 4)])
    out["own ack"] = (int(ok.error_code), _part_errors(ok))
    again = share_ack(conn_a, group, a, next_a + 2, tid, [(0, 4)])
    out["ack twice"] = (int(again.error_code), _part_errors(again))
    return out


def five_records(cluster: Cluster, label: str) -> tuple[str, uuid.UUID, str]:
    """A fresh one-partition topic holding five records, its id, and a fresh group id whose
    coordinator answers."""
    topic = unique_topic(label)
    create_topic(cluster, topic)
    produce(cluster, topic, [{"value": b"v%d" % i, "partition": 0} for i in range(5)])
    group = f"diff-{label}-{uuid.uuid4().hex[:8]}"
    wait_coordinator(cluster, group)
    return topic, topic_id(cluster, topic), group


def scenario(cluster: Cluster) -> dict[str, Any]:
    topic, tid, group = five_records(cluster, "share")
    out: dict[str, Any] = {
        "config earliest": set_group_config(cluster, group, "share.auto.offset.reset", "earliest"),
        "config limit 1": set_group_config(cluster, group, "share.delivery.count.limit", "1"),
        "config lock 100": set_group_config(cluster, group, "share.record.lock.duration.ms", "100"),
        "config reset bad": set_group_config(cluster, group, "share.auto.offset.reset", "never"),
    }
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    out["hb empty member"] = int(heartbeat(cluster, group, "", 0, [topic]).error_code)
    out["hb join without topics"] = int(heartbeat(cluster, group, a, 0, None).error_code)
    out["hb unknown member"] = int(heartbeat(cluster, group, a, 3, None).error_code)
    epoch_a = _join(cluster, group, a, topic)
    out["joined epoch positive"] = epoch_a > 0
    out["hb fenced"] = int(heartbeat(cluster, group, a, epoch_a + 5, None).error_code)
    _join(cluster, group, b, topic)
    conn_a, conn_b = Conn(cluster), Conn(cluster)
    try:
        out |= _sessions(conn_a, conn_b, group, a, b, tid)
    finally:
        conn_a.close()
        conn_b.close()
    described = _call(
        cluster, DESCRIBE, 1, "ShareGroupDescribeRequest",
        group_ids=(group, "no-such-share-group"), include_authorized_operations=False,
    )  # fmt: skip
    out["describe"] = [
        (g.group_id == group, int(g.error_code), g.group_state, len(g.members))
        for g in described.groups
    ]
    out["hb leave"] = int(heartbeat(cluster, group, b, -1, None).member_epoch)
    return out


def test_share_group_misuse_gets_kafkas_error_codes(clusters: tuple[Cluster, Cluster]) -> None:
    assert_same(observe(clusters, scenario))


def _java_tool(main_class: str, args: list[str]) -> str:
    result = subprocess.run(
        java_command(main_class, args), capture_output=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return result.stdout.decode()


def java_scenario(cluster: Cluster) -> dict[str, Any]:
    """Kafka's own console share consumer reads every record once; `kafka-share-groups.sh
    --describe` then prints the start offset and lag."""
    topic = unique_topic("share-java")
    create_topic(cluster, topic)
    produce(cluster, topic, [{"value": b"%d" % i, "partition": 0} for i in range(5)])
    group = f"diff-share-java-{uuid.uuid4().hex[:8]}"
    wait_coordinator(cluster, group)
    set_group_config(cluster, group, "share.auto.offset.reset", "earliest")
    consumed = _java_tool(
        "org.apache.kafka.tools.consumer.ConsoleShareConsumer",
        [
            *("--bootstrap-server", cluster.bootstrap, "--topic", topic, "--group", group),
            *("--max-messages", "5", "--timeout-ms", "20000"),
        ],
    )
    described = _java_tool(
        "org.apache.kafka.tools.consumer.group.ShareGroupCommand",
        ["--bootstrap-server", cluster.bootstrap, "--describe", "--group", group],
    )
    # Columns after GROUP and TOPIC: PARTITION, START-OFFSET, LAG. Kafka's start offset is
    # what its share coordinator last persisted, which trails the acknowledgements by a
    # write or more (0 here right after the run): only partition and lag are compared.
    rows = [
        (cols[2], cols[4])
        for line in described.splitlines()
        if line.startswith(group) and len(cols := line.split()) >= 5
    ]
    return {"values": sorted(consumed.split()), "describe": rows}


def test_kafkas_share_consumer_and_share_group_tool(clusters: tuple[Cluster, Cluster]) -> None:
    assert_same(observe(clusters, java_scenario))


def disconnect_scenario(cluster: Cluster) -> dict[str, Any]:
    """A member's connection ends mid-batch: its share session ends with it and another
    member acquires the records long before their lock (30 s) lapses."""
    topic, tid, group = five_records(cluster, "share-drop")
    set_group_config(cluster, group, "share.auto.offset.reset", "earliest")
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    _join(cluster, group, a, topic)
    _join(cluster, group, b, topic)
    conn_a = Conn(cluster)
    _, held = _open_and_acquire(conn_a, group, a, tid)
    conn_a.close()
    conn_b = Conn(cluster)
    try:
        _, taken = _open_and_acquire(conn_b, group, b, tid)
    finally:
        conn_b.close()
    return {"held": held, "taken over": taken}


def test_a_closed_connection_ends_its_share_session(clusters: tuple[Cluster, Cluster]) -> None:
    seen = observe(clusters, disconnect_scenario)
    assert_same(seen)
    assert seen["odradek"]["taken over"] == [(0, 4, 2)]


def _start_offsets(cluster: Cluster, group: str) -> list[tuple[int, int, int]]:
    """(partition, start offset, lag) of every share-partition DescribeShareGroupOffsets
    lists for the group."""
    from kio.schema.describe_share_group_offsets.v1 import request as req

    reply = _call(
        cluster, 90, 1, "DescribeShareGroupOffsetsRequest",
        groups=(req.DescribeShareGroupOffsetsRequestGroup(group_id=group, topics=None),),
    )  # fmt: skip
    return sorted(
        (int(p.partition_index), int(p.start_offset), int(p.lag))
        for g in reply.groups
        for t in g.topics
        for p in t.partitions
    )


def assigned_scenario(cluster: Cluster) -> dict[str, Any]:
    """A member's assigned share-partitions are listed by DescribeShareGroupOffsets before
    anyone fetched from them, with an unknown start offset and lag (Kafka initializes them
    in the background; Odradek when they are first fetched from)."""
    topic = unique_topic("share-assigned")
    create_topic(cluster, topic, partitions=2)
    produce(cluster, topic, [{"value": b"v%d" % i, "partition": 0} for i in range(3)])
    group = f"diff-share-assigned-{uuid.uuid4().hex[:8]}"
    wait_coordinator(cluster, group)
    member = str(uuid.uuid4())
    epoch = _join(cluster, group, member, topic)
    deadline = time.monotonic() + ACQUIRE_DEADLINE_S
    listed = _start_offsets(cluster, group)
    while len(listed) < 2 and time.monotonic() < deadline:
        # Kafka retries a failed state initialization (the first one can race the creation
        # of __share_group_state on a busy machine) only when the member heartbeats again.
        time.sleep(0.2)
        reply = heartbeat(cluster, group, member, epoch, None)
        assert reply.error_code == 0, reply
        epoch = int(reply.member_epoch)
        listed = _start_offsets(cluster, group)
    assert heartbeat(cluster, group, member, -1, None).error_code == 0
    return {"assigned, not fetched": listed}


def test_assigned_partitions_are_listed_before_any_fetch(
    clusters: tuple[Cluster, Cluster],
) -> None:
    seen = observe(clusters, assigned_scenario)
    assert_same(seen)
    assert [p for p, _, _ in seen["odradek"]["assigned, not fetched"]] == [0, 1]
