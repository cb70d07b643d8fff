"""DescribeGroups, the classic groups' describe, at v5 and v6 on the raw wire, Odradek
against Apache Kafka: a classic group active and empty, a group of commits only, a group
that does not exist, a KIP-848 consumer group active and empty, and a share group. Kafka
describes only classic groups here: the others are "Dead", and from v6 (KIP-1043)
GROUP_ID_NOT_FOUND with a message saying the group is missing or not a classic group.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from tests.clusters import Cluster
from tests.differential import test_share_groups as sg
from tests.differential.harness import QUIET, assert_same, create_topic, observe, produce
from tests.differential.test_client_quotas import _send

DESCRIBE_GROUPS = 15
READ_TIMEOUT_S = 30.0


def _described(cluster: Cluster, group: str, version: int, run: str) -> Any:
    answer = _send(cluster, DESCRIBE_GROUPS, version, "diff-describe-groups", groups=(group,),
                   include_authorized_operations=False)[1]  # fmt: skip
    (g,) = answer.groups
    message = getattr(g, "error_message", None)
    return (
        int(g.error_code),
        message and message.replace(run, "RUN"),
        g.group_state,
        g.protocol_type,
        g.protocol_data,
        len(g.members),
    )


def scenario(cluster: Cluster) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    topic = f"describe-groups-{run}"
    create_topic(cluster, topic)
    produce(cluster, topic, [{"value": b"x", "partition": 0}])
    seen: dict[str, Any] = {}

    def both(name: str, group: str) -> None:
        for version in (5, 6):
            seen[f"{name} v{version}"] = _described(cluster, group, version, run)

    for protocol in ("classic", "consumer"):
        group = f"describe-{protocol}-{run}"
        consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group,
                             "auto.offset.reset": "earliest", "group.protocol": protocol, **QUIET})  # fmt: skip
        consumer.subscribe([topic])
        deadline = time.monotonic() + READ_TIMEOUT_S
        while time.monotonic() < deadline:  # a member, with its assignment
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                break
        consumer.commit(asynchronous=False)
        both(f"{protocol} active", group)
        consumer.close()
        both(f"{protocol} empty", group)
    simple = f"describe-simple-{run}"
    committer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": simple, **QUIET})
    committer.commit(offsets=[TopicPartition(topic, 0, 1)], asynchronous=False)
    committer.close()
    both("commits only", simple)
    both("missing", f"describe-missing-{run}")
    share = f"describe-share-{run}"
    assert sg.heartbeat(cluster, share, str(uuid.uuid4()), 0, [topic]).error_code == 0
    both("share", share)
    return seen


def test_describe_groups_describes_classic_groups_only(clusters: tuple[Cluster, Cluster]) -> None:
    seen = observe(clusters, scenario)
    kafka = seen["kafka"]
    assert kafka["consumer active v5"][2] == "Dead"
    assert kafka["missing v6"][:2] == (69, "Group describe-missing-RUN not found.")
    assert_same(seen)
