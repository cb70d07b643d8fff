"""Differential: ACLs on Apache Kafka (StandardAuthorizer) and Odradek, same scenario.

Both brokers run `authorizer.class.name=...StandardAuthorizer` with
`allow.everyone.if.no.acl.found=true` (Kafka's own broker principal needs no grant then);
every client is User:ANONYMOUS over PLAINTEXT. The scenario grants ANONYMOUS a topic
prefix, denies it writes on one topic inside the prefix, and names two resources for
another principal only, then compares what clients see: produce outcomes, Metadata
filtering, topic deletion, group offsets, the ACL listing, and DeleteAcls.
"""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import ConsumerGroupTopicPartitions, KafkaError, Producer
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
)

from tests.clusters import Cluster
from tests.differential.harness import (
    QUIET,
    TIMEOUT,
    admin,
    assert_same,
    create_topic,
    error_name,
    observe,
    outcome,
)
from tests.differential.own_pair import broker_pair, clusters_of
from tests.java.test_admin_tools import tool

pytestmark = pytest.mark.kafka

SETTINGS = {
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "allow.everyone.if.no.acl.found": "true",
}
ME, ALICE = "User:ANONYMOUS", "User:alice"
TOPICS = ("acl-team-a", "acl-team-locked", "acl-other")
LIT, PRE = ResourcePatternType.LITERAL, ResourcePatternType.PREFIXED
ALLOW, DENY = AclPermissionType.ALLOW, AclPermissionType.DENY
BINDINGS = [
    AclBinding(ResourceType.TOPIC, "acl-team-", PRE, ME, "*", AclOperation.ALL, ALLOW),
    AclBinding(ResourceType.TOPIC, "acl-team-locked", LIT, ME, "*", AclOperation.WRITE, DENY),
    AclBinding(ResourceType.TOPIC, "acl-other", LIT, ALICE, "*", AclOperation.READ, ALLOW),
    AclBinding(ResourceType.GROUP, "acl-alice-g", LIT, ALICE, "*", AclOperation.READ, ALLOW),
]
EVERY_ACL = AclBindingFilter(
    ResourceType.ANY,
    None,
    ResourcePatternType.ANY,
    None,
    None,
    AclOperation.ANY,
    AclPermissionType.ANY,
)


@pytest.fixture(scope="module")
def acl_clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, Cluster]]:
    with broker_pair(tmp_path_factory, "acls", SETTINGS, config_file=True) as (kafka, odradek):
        yield clusters_of(kafka, odradek)


def _listing(client: Any) -> list[tuple[Any, ...]]:
    found = client.describe_acls(EVERY_ACL).result(TIMEOUT)
    return sorted(
        (b.restype.name, b.name, b.resource_pattern_type.name, b.principal, b.host,
         b.operation.name, b.permission_type.name)
        for b in found
    )  # fmt: skip


def _produce(cluster: Cluster, topic: str) -> str:
    reports: list[str] = []
    producer = Producer(
        {"bootstrap.servers": cluster.bootstrap, "message.timeout.ms": 10_000, **QUIET}
    )
    producer.produce(
        topic, b"v", on_delivery=lambda err, _m: reports.append(err.name() if err else "OK")
    )
    producer.flush(TIMEOUT)
    return reports[0] if reports else "UNDELIVERED"


def _install(cluster: Cluster, topics: tuple[str, ...], bindings: list[AclBinding]) -> Any:
    """Create the topics and ACLs; the admin client, once the ACLs are listed."""
    client = admin(cluster)
    before = len(_listing(client))
    for topic in topics:
        create_topic(cluster, topic)
    for future in client.create_acls(bindings).values():
        future.result(TIMEOUT)
    # Kafka applies new ACLs through its metadata log: wait until its authorizer lists them.
    deadline = time.monotonic() + TIMEOUT
    while len(_listing(client)) < before + len(bindings) and time.monotonic() < deadline:
        time.sleep(0.1)
    return client


def _scenario(cluster: Cluster) -> dict[str, Any]:
    client = _install(cluster, TOPICS, BINDINGS)
    seen: dict[str, Any] = {"acls": _listing(client)}
    seen["produce"] = {topic: _produce(cluster, topic) for topic in TOPICS}
    everything = client.list_topics(timeout=TIMEOUT).topics
    seen["visible"] = sorted(t for t in everything if t.startswith("acl-"))
    one = client.list_topics("acl-other", timeout=TIMEOUT).topics["acl-other"]
    seen["describe other"] = one.error.name() if one.error else "OK"
    offsets = client.list_consumer_group_offsets([ConsumerGroupTopicPartitions("acl-alice-g")])
    seen["alice's group"] = outcome(next(iter(offsets.values())))
    seen["delete other"] = outcome(client.delete_topics(["acl-other"])["acl-other"])
    unlock = AclBindingFilter(
        ResourceType.TOPIC, "acl-team-locked", LIT, None, None, AclOperation.ANY,
        AclPermissionType.ANY,
    )  # fmt: skip
    futures = client.delete_acls([unlock])
    try:
        deleted = [b.name for f in futures.values() for b in f.result(TIMEOUT)]
    except Exception as exc:
        deleted = [error_name(exc)]
    seen["deleted"] = deleted
    deadline = time.monotonic() + TIMEOUT
    while len(_listing(client)) > len(BINDINGS) - 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    seen["produce after unlock"] = _produce(cluster, "acl-team-locked")
    return seen


def test_acl_scenario_matches_kafka(acl_clusters: tuple[Cluster, Cluster]) -> None:
    seen = observe(acl_clusters, _scenario)
    assert_same(seen)
    # And the scenario means something: refusals happened where the ACLs say.
    ours = seen["odradek"]
    refused = KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert ours["produce"]["acl-team-a"] == "OK"
    assert ours["produce"]["acl-team-locked"] == KafkaError(refused).name()
    assert ours["visible"] == ["acl-team-a", "acl-team-locked"]
    assert ours["produce after unlock"] == "OK"


def _blocks(lines: list[str]) -> list[list[str]]:
    """AclCommand's listing as its per-resource blocks, sorted: the tool groups bindings in
    a hash map, so the order of resources is not part of the answer."""
    blocks: list[list[str]] = []
    for line in lines:
        if line.startswith(("Current ACLs", "Adding ACLs")) or not blocks:
            blocks.append([])
        blocks[-1].append(line)
    return sorted(sorted(block) for block in blocks)


def test_kafka_acls_tool_prints_the_same(acl_clusters: tuple[Cluster, Cluster]) -> None:
    """`kafka-acls.sh --add` then `--list` (Kafka's AclCommand) on both brokers."""

    def run(cluster: Cluster) -> list[list[list[str]]]:
        base = ("--bootstrap-server", cluster.bootstrap)
        add = (
            "--add", "--allow-principal", "User:bob", "--operation", "Read",
            "--operation", "Describe", "--topic", "acl-tool-",
            "--resource-pattern-type", "prefixed", "--group", "acl-tool-g",
        )  # fmt: skip
        return [
            _blocks(tool("AclCommand", *base, *add)[1]),
            _blocks(tool("AclCommand", *base, "--list", "--topic", "acl-tool-",
                         "--resource-pattern-type", "prefixed")[1]),
            _blocks(tool("AclCommand", *base, "--list", "--principal", "User:bob")[1]),
        ]  # fmt: skip

    seen = observe(acl_clusters, run)
    assert_same(seen)
    assert any("User:bob" in line for block in seen["odradek"][1] for line in block)


SHARE_TOPICS = ("acl-share-open", "acl-share-closed", "acl-share-noread")
SHARE_BINDINGS = [
    AclBinding(ResourceType.TOPIC, "acl-share-closed", LIT, ALICE, "*", AclOperation.READ, ALLOW),
    # Its id may be learned (DESCRIBE), its records not read.
    AclBinding(ResourceType.TOPIC, "acl-share-noread", LIT, ME, "*", AclOperation.DESCRIBE, ALLOW),
    # READ but not DELETE on this group: its offsets may be reset, not deleted.
    AclBinding(ResourceType.GROUP, "acl-share-g", LIT, ME, "*", AclOperation.READ, ALLOW),
    AclBinding(ResourceType.GROUP, "acl-share-alice", LIT, ALICE, "*", AclOperation.ALL, ALLOW),
]


def _consumer_heartbeat(cluster: Cluster, group: str, *topics: str) -> tuple[int, Any, int]:
    """A KIP-848 consumer's first heartbeat: (error, message, member epoch)."""
    from tests.differential import test_share_groups as sg

    reply = sg._call(
        cluster, 68, 0, "ConsumerGroupHeartbeatRequest",
        group_id=group, member_id=str(uuid.uuid4()), member_epoch=0, instance_id=None,
        rack_id=None, rebalance_timeout=datetime.timedelta(seconds=30),
        subscribed_topic_names=topics, server_assignor=None, topic_partitions=(),
    )  # fmt: skip
    return int(reply.error_code), reply.error_message, int(reply.member_epoch)


def _share_apis(cluster: Cluster) -> dict[str, Any]:
    """Heartbeat, ShareFetch, ShareAcknowledge, ShareGroupDescribe and
    DescribeShareGroupOffsets where the group or a topic is refused."""
    from kio.schema.describe_share_group_offsets.v1 import request as offsets_req
    from kio.schema.share_acknowledge.v1 import request as ack_req

    from tests.differential import test_share_groups as sg

    free, alice = "acl-share-free", "acl-share-alice"
    member = str(uuid.uuid4())
    out: dict[str, Any] = {
        "hb group refused": int(
            sg.heartbeat(cluster, alice, member, 0, ["acl-share-open"]).error_code
        ),
        "hb topic refused": int(
            sg.heartbeat(cluster, free, member, 0, ["acl-share-closed"]).error_code
        ),
        "hb joins": int(sg.heartbeat(cluster, free, member, 0, ["acl-share-open"]).error_code),
        "consumer hb group refused": _consumer_heartbeat(cluster, alice, "acl-share-open"),
        "consumer hb topic refused": _consumer_heartbeat(
            cluster, "acl-consumer-free", "acl-share-open", "acl-share-closed"
        ),
    }
    tids = [sg.topic_id(cluster, t) for t in SHARE_TOPICS]
    conn = sg.Conn(cluster)
    try:
        fields: dict[str, Any] = dict(
            member_id=member, share_session_epoch=0, max_wait=datetime.timedelta(0),
            min_bytes=0, max_bytes=1 << 20, max_records=10, batch_size=10,
            topics=(), forgotten_topics_data=(),
        )  # fmt: skip
        refused = conn.call(sg.SHARE_FETCH, 1, "ShareFetchRequest", group_id=alice, **fields)
        out["fetch group refused"] = int(refused.error_code)
        acked = conn.call(
            sg.SHARE_ACK, 1, "ShareAcknowledgeRequest", group_id=alice, member_id=member,
            share_session_epoch=1,
            topics=(ack_req.AcknowledgeTopic(topic_id=tids[0], partitions=(
                ack_req.AcknowledgePartition(partition_index=0, acknowledgement_batches=()),)),),
        )  # fmt: skip
        out["ack group refused"] = int(acked.error_code)
    finally:
        conn.close()
    described = sg._call(
        cluster, sg.DESCRIBE, 1, "ShareGroupDescribeRequest",
        group_ids=(alice, free), include_authorized_operations=False,
    )  # fmt: skip
    out["describe"] = [(g.group_id, int(g.error_code)) for g in described.groups]
    offsets = sg._call(
        cluster, 90, 1, "DescribeShareGroupOffsetsRequest",
        groups=(
            offsets_req.DescribeShareGroupOffsetsRequestGroup(group_id=alice, topics=None),
            offsets_req.DescribeShareGroupOffsetsRequestGroup(group_id=free, topics=(
                offsets_req.DescribeShareGroupOffsetsRequestTopic(
                    topic_name="acl-share-closed", partitions=(0,)),)),
        ),
    )  # fmt: skip
    out["offsets"] = [
        (g.group_id, int(g.error_code), [int(p.error_code) for t in g.topics for p in t.partitions])
        for g in offsets.groups
    ]
    assert sg.heartbeat(cluster, free, member, -1, None).error_code == 0
    return out


def _fetch_from_a_refused_topic(cluster: Cluster) -> list[tuple[int, int]]:
    """(topic index, error) per partition of a first ShareFetch naming a readable and a
    refused topic. Odradek only: Kafka 4.4 answers this request UNKNOWN_SERVER_ERROR."""
    from kio.schema.share_fetch.v1 import request as fetch_req

    from tests.differential import test_share_groups as sg

    member = str(uuid.uuid4())
    assert sg.heartbeat(cluster, "acl-share-free", member, 0, ["acl-share-open"]).error_code == 0
    tids = [sg.topic_id(cluster, t) for t in ("acl-share-open", "acl-share-noread")]
    conn = sg.Conn(cluster)
    try:
        fetched = conn.call(
            sg.SHARE_FETCH, 1, "ShareFetchRequest", group_id="acl-share-free", member_id=member,
            share_session_epoch=0, max_wait=datetime.timedelta(0), min_bytes=0,
            max_bytes=1 << 20, max_records=10, batch_size=10, forgotten_topics_data=(),
            topics=tuple(
                fetch_req.FetchTopic(topic_id=tid, partitions=(
                    fetch_req.FetchPartition(partition_index=0, acknowledgement_batches=()),))
                for tid in tids
            ),
        )  # fmt: skip
    finally:
        conn.close()
    assert fetched.error_code == 0
    return sorted(
        (tids.index(t.topic_id), int(p.error_code)) for t in fetched.responses for p in t.partitions
    )


def _share_offsets_scenario(cluster: Cluster) -> dict[str, Any]:
    from tests.differential.test_share_group_offsets import alter_offsets, delete_offsets
    from tests.differential.test_share_groups import wait_coordinator

    _install(cluster, SHARE_TOPICS, SHARE_BINDINGS)
    for group in ("acl-share-g", "acl-share-free"):
        wait_coordinator(cluster, group)
    both = [(t, [(0, 0)]) for t in SHARE_TOPICS]
    return {
        "alter, group refused": alter_offsets(cluster, "acl-share-alice", both),
        "alter, one topic refused": alter_offsets(cluster, "acl-share-g", both),
        "alter, no ACLs": alter_offsets(cluster, "acl-share-free", both),
        "delete, group refused": delete_offsets(cluster, "acl-share-g", list(SHARE_TOPICS)),
        "delete, one topic refused": delete_offsets(cluster, "acl-share-free", list(SHARE_TOPICS)),
        "share APIs": _share_apis(cluster),
    }


def test_share_group_offsets_follow_acls(acl_clusters: tuple[Cluster, Cluster]) -> None:
    seen = observe(acl_clusters, _share_offsets_scenario)
    assert_same(seen)
    assert seen["odradek"]["alter, group refused"][0] == KafkaError.GROUP_AUTHORIZATION_FAILED
    assert seen["odradek"]["share APIs"]["fetch group refused"] == 30
    assert _fetch_from_a_refused_topic(acl_clusters[1]) == [(0, 0), (1, 29)]
