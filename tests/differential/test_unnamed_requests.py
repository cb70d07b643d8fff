"""Differential: requests that leave out or mis-name what they are about.

The schemas let a ShareFetch or ShareAcknowledge carry a null group or member id, and a
Metadata v10–11 carry topic ids (or null names) that only v12 may use; Kafka refuses all
of these as INVALID_REQUEST. A Metadata request naming a topic twice lists it once, lists
topics that exist before those that do not, and from v12 one naming any topic id is by id
alone. DescribeShareGroupOffsets of a group with no share state (one never used, or a
consumer group's name) is no error on Kafka: like OffsetFetch, it answers each named
partition with no start offset. Classic-group requests naming the empty group id are
INVALID_GROUP_ID. Raw requests on fresh connections; error codes are compared, and
messages only for the classic-group requests (Kafka sends none at the top level of the
others).
"""

from __future__ import annotations

import datetime
import functools
import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from kio.index import load_payload_module
from kio.static.constants import EntityType

from tests.clusters import Cluster
from tests.differential.harness import QUIET, assert_same, create_topic, observe, unique_topic
from tests.differential.test_named_twice import _Run
from tests.differential.test_share_groups import _call, topic_id, wait_coordinator

pytestmark = pytest.mark.kafka

METADATA, SHARE_FETCH, SHARE_ACK, DESCRIBE_OFFSETS = 3, 78, 79, 90
JOIN_GROUP, HEARTBEAT, LEAVE_GROUP, SYNC_GROUP, DESCRIBE_GROUPS = 11, 12, 13, 14, 15
DELETE_GROUPS, OFFSET_DELETE = 42, 47
ZERO = uuid.UUID(int=0)


def _module(api_key: int, version: int) -> Any:
    return load_payload_module(api_key, version, EntityType.request)


def _share_fetch(cluster: Cluster, version: int, group: Any, member: Any, tid: uuid.UUID) -> int:
    mod = _module(SHARE_FETCH, version)
    extra = {"share_acquire_mode": 0, "is_renew_ack": False} if version >= 2 else {}
    part = mod.FetchPartition(partition_index=0, acknowledgement_batches=())
    reply = _call(
        cluster, SHARE_FETCH, version, "ShareFetchRequest",
        group_id=group, member_id=member, share_session_epoch=0,
        max_wait=datetime.timedelta(milliseconds=100), min_bytes=1, max_bytes=1 << 20,
        max_records=500, batch_size=500,
        topics=(mod.FetchTopic(topic_id=tid, partitions=(part,)),), forgotten_topics_data=(),
        **extra,
    )  # fmt: skip
    return int(reply.error_code)


def _share_ack(cluster: Cluster, version: int, group: Any, member: Any, tid: uuid.UUID) -> int:
    mod = _module(SHARE_ACK, version)
    extra = {"is_renew_ack": False} if version >= 2 else {}
    batch = mod.AcknowledgementBatch(first_offset=0, last_offset=0, acknowledge_types=(1,))
    part = mod.AcknowledgePartition(partition_index=0, acknowledgement_batches=(batch,))
    reply = _call(
        cluster, SHARE_ACK, version, "ShareAcknowledgeRequest",
        group_id=group, member_id=member, share_session_epoch=1,
        topics=(mod.AcknowledgeTopic(topic_id=tid, partitions=(part,)),), **extra,
    )  # fmt: skip
    return int(reply.error_code)


def share_scenario(cluster: Cluster) -> dict[str, Any]:
    topic = unique_topic("unnamed-share")
    create_topic(cluster, topic)
    tid = topic_id(cluster, topic)
    group = f"diff-unnamed-{uuid.uuid4().hex[:8]}"
    wait_coordinator(cluster, group)
    member = str(uuid.uuid4())
    out: dict[str, Any] = {}
    for version in (1, 2):
        for label, g, m in (
            ("null group", None, member),
            ("null member", group, None),
            ("neither", None, None),
        ):
            out[f"fetch v{version} {label}"] = _share_fetch(cluster, version, g, m, tid)
        out[f"ack v{version} null group"] = _share_ack(cluster, version, None, member, tid)
        out[f"ack v{version} null member"] = _share_ack(cluster, version, group, None, tid)
        # An empty id is a name: the request goes on to the session checks.
        out[f"ack v{version} empty group"] = _share_ack(cluster, version, "", member, tid)
    return out


def test_share_requests_without_group_or_member(clusters: tuple[Cluster, Cluster]) -> None:
    seen = observe(clusters, share_scenario)
    assert_same(seen)
    assert seen["odradek"]["fetch v2 null group"] == 42


def _metadata(cluster: Cluster, version: int, topics: tuple[Any, ...]) -> Any:
    extra = {"include_cluster_authorized_operations": False} if 8 <= version <= 10 else {}
    return _call(
        cluster, METADATA, version, "MetadataRequest", topics=topics,
        allow_auto_topic_creation=False, include_topic_authorized_operations=False, **extra,
    )  # fmt: skip


def _ask(version: int, name: str | None, tid: uuid.UUID = ZERO) -> Any:
    mod = _module(METADATA, version)
    if version < 10:
        return mod.MetadataRequestTopic(name=name)
    return mod.MetadataRequestTopic(topic_id=tid, name=name)


def metadata_scenario(cluster: Cluster) -> dict[str, Any]:
    one, two = unique_topic("unnamed-md"), unique_topic("unnamed-md")
    create_topic(cluster, one)
    create_topic(cluster, two, partitions=2)
    labels: dict[Any, str] = {
        one: "one", two: "two", topic_id(cluster, one): "id one", topic_id(cluster, two): "id two",
        None: "null", ZERO: "zero",
    }  # fmt: skip
    unknown = uuid.uuid4()
    labels[unknown] = "unknown id"
    id_one, id_two = topic_id(cluster, one), topic_id(cluster, two)
    out: dict[str, Any] = {}
    for version in (9, 10, 11, 12):
        ask = functools.partial(_ask, version)
        asks = {
            "one": [ask(one)],
            "one twice": [ask(one), ask(one)],
            "missing first": [ask("diff-no-such-topic"), ask(two), ask(one)],
        }
        if version >= 10:
            asks |= {
                "one by id and name": [ask(one, id_one)],
                "one by id": [ask(None, id_one)],
                "unknown id": [ask(None, unknown)],
                # A request naming any topic id is by id alone from v12: names are left out.
                "one by name, two by id": [ask(one), ask(None, id_two)],
                "one by name, unknown id twice": [ask(one), ask(None, unknown), ask(None, unknown)],
                "two's name with one's id": [ask(two, id_one)],
                "by id, both, one twice": [ask(None, id_one), ask(None, id_two), ask(None, id_one)],
            }
        for label, topics in asks.items():
            reply = _metadata(cluster, version, tuple(topics))
            out[f"v{version} {label}"] = (
                len(reply.brokers),
                reply.cluster_id is None,
                int(reply.controller_id) if reply.controller_id == -1 else "a broker",
                [
                    (
                        int(t.error_code),
                        labels.get(t.name, t.name),
                        labels.get(getattr(t, "topic_id", None), "other id"),
                        len(t.partitions),
                    )
                    for t in reply.topics
                ],
            )
    return out


def test_metadata_topics_by_name_and_by_id(clusters: tuple[Cluster, Cluster]) -> None:
    seen = observe(clusters, metadata_scenario)
    assert_same(seen)
    assert seen["odradek"]["v11 one by id"] == (0, True, -1, [(42, "", "id one", 0)])


def _describe_offsets(cluster: Cluster, version: int, group: str, topics: Any) -> Any:
    mod = _module(DESCRIBE_OFFSETS, version)
    named = None
    if topics is not None:
        named = tuple(
            mod.DescribeShareGroupOffsetsRequestTopic(topic_name=name, partitions=parts)
            for name, parts in topics
        )
    reply = _call(
        cluster, DESCRIBE_OFFSETS, version, "DescribeShareGroupOffsetsRequest",
        groups=(mod.DescribeShareGroupOffsetsRequestGroup(group_id=group, topics=named),),
    )  # fmt: skip
    return [
        (
            int(g.error_code),
            [
                (t.topic_name, t.topic_id not in (None, ZERO), _offsets(t.partitions))
                for t in g.topics
            ],
        )
        for g in reply.groups
    ]


def _offsets(partitions: Any) -> list[tuple[int, int, int, int]]:
    return [
        (int(p.partition_index), int(p.start_offset), int(getattr(p, "lag", -1)), int(p.error_code))
        for p in partitions
    ]


def _wait_known(cluster: Cluster, group: str, topic: str) -> None:
    """Until the group coordinator knows `topic`. Kafka's learns of a topic from the
    metadata it is sent a moment after CreateTopics returns, and until then answers the
    topic as one that does not exist (no id, partitions as named): seen under CI load."""
    deadline = time.monotonic() + 30
    while not _describe_offsets(cluster, 1, group, [(topic, (0,))])[0][1][0][1]:
        assert time.monotonic() < deadline, f"{cluster.name}: {topic} never known to groups"
        time.sleep(0.05)  # polling the reference's readiness, not waiting for time


def offsets_scenario(cluster: Cluster) -> dict[str, Any]:
    topic = unique_topic("unnamed-offsets")
    create_topic(cluster, topic, partitions=2)
    never = f"diff-never-{uuid.uuid4().hex[:8]}"
    wait_coordinator(cluster, never)
    _wait_known(cluster, never, topic)
    classic = f"diff-classic-{uuid.uuid4().hex[:8]}"
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": classic, **QUIET})
    try:
        consumer.commit(offsets=[TopicPartition(topic, 0, 1)], asynchronous=False)
    finally:
        consumer.close()
    named = [(topic, (1, 0)), ("diff-no-such-topic", (0,))]
    out: dict[str, Any] = {}
    for version in (0, 1):
        for label, group in (("never used", never), ("a consumer group", classic)):
            out[f"v{version} {label}, all"] = _describe_offsets(cluster, version, group, None)
            out[f"v{version} {label}, named"] = _describe_offsets(cluster, version, group, named)
    return {k: str(v).replace(topic, "T") for k, v in out.items()}


def test_share_offsets_of_a_group_without_share_state(clusters: tuple[Cluster, Cluster]) -> None:
    seen = observe(clusters, offsets_scenario)
    assert_same(seen)
    assert "(0, -1, -1, 0)" in seen["odradek"]["v1 never used, named"]


def groups_scenario(cluster: Cluster) -> dict[str, Any]:
    """Classic-group requests naming the empty group id: INVALID_GROUP_ID, whole."""
    run = _Run(cluster, {}, "unused")
    join = _module(JOIN_GROUP, 7)
    run(
        "join", JOIN_GROUP, 7, "JoinGroupRequest",
        group_id="", session_timeout=datetime.timedelta(seconds=10),
        rebalance_timeout=datetime.timedelta(seconds=10), member_id="", group_instance_id=None,
        protocol_type="consumer",
        protocols=(join.JoinGroupRequestProtocol(name="range", metadata=b""),),
    )  # fmt: skip
    run(
        "sync", SYNC_GROUP, 5, "SyncGroupRequest",
        group_id="", generation_id=1, member_id="m", group_instance_id=None,
        protocol_type="consumer", protocol_name="range", assignments=(),
    )  # fmt: skip
    run("heartbeat", HEARTBEAT, 4, "HeartbeatRequest",
        group_id="", generation_id=1, member_id="m", group_instance_id=None)  # fmt: skip
    leave = _module(LEAVE_GROUP, 5)
    run(
        "leave", LEAVE_GROUP, 5, "LeaveGroupRequest", group_id="",
        members=(leave.MemberIdentity(member_id="m", group_instance_id=None, reason=None),),
    )  # fmt: skip
    run("offset delete", OFFSET_DELETE, 0, "OffsetDeleteRequest", group_id="", topics=())
    run("describe", DESCRIBE_GROUPS, 5, "DescribeGroupsRequest",
        groups=("",), include_authorized_operations=False)  # fmt: skip
    run("delete", DELETE_GROUPS, 2, "DeleteGroupsRequest", groups_names=("",))
    return run.out


def test_classic_group_requests_for_the_empty_group(clusters: tuple[Cluster, Cluster]) -> None:
    seen = observe(clusters, groups_scenario)
    assert_same(seen)
    assert seen["odradek"]["heartbeat"] == ["error_code=24"]
