"""ElectLeaders, AlterPartitionReassignments and ListPartitionReassignments on the raw wire,
Odradek against a one-broker Apache Kafka: at every version, the same per-partition codes
and messages for partitions that exist, do not exist or belong to no topic; an unknown
election type; every form of new replica list (this broker, none, twice, an unknown
broker, a cancellation) with and without `allow_replication_factor_change`; an election
over every partition leaving out those that need none; and nothing ever being reassigned.
Then `kafka-leader-election.sh` (one partition, every partition) and
`kafka-reassign-partitions.sh` (`--list`, `--execute` of a plan keeping each partition where
it is, `--verify`, which also clears replication throttles) print the same lines. The
permissions these requests need are checked in `tests/console/test_replica_operations.py`,
on brokers where the refused principal is not also the brokers' own.
"""

from __future__ import annotations

import datetime
import json
import re
import subprocess
from pathlib import Path
from typing import Any

from kio.index import load_payload_module
from kio.static.constants import EntityType

from reference.launcher import java_command
from tests.clusters import Cluster
from tests.differential.harness import assert_same, create_topic, observe, unique_topic
from tests.differential.test_broker_configs import _node
from tests.differential.test_client_quotas import _send

ELECT, ALTER, LIST = 43, 45, 46
TIMEOUT = datetime.timedelta(seconds=30)
MISSING = "no-such-topic-replica-admin"


def _results(answer: Any, names: dict[str, str]) -> list[Any]:
    return [
        (
            names.get(t.topic, t.topic),
            [(p.partition_id, int(p.error_code), _masked(p.error_message, t.topic))
             for p in t.partition_result],
        )
        for t in answer.replica_election_results
    ]  # fmt: skip


def _elect(cluster: Cluster, version: int, topic: str, election: int, names: dict[str, str]) -> Any:
    m = load_payload_module(ELECT, version, EntityType.request)
    asked = (
        m.TopicPartitions(topic=topic, partitions=(0, 1, 5)),
        m.TopicPartitions(topic=MISSING, partitions=(0,)),
    )
    fields: dict[str, Any] = {"topic_partitions": asked, "timeout": TIMEOUT}
    if version >= 1:
        fields["election_type"] = election
    answer = _send(cluster, ELECT, version, "diff-elect", **fields)[1]
    return (int(getattr(answer, "error_code", 0)), _results(answer, names))


def _alter(cluster: Cluster, version: int, topic: str, node: int, allow: bool) -> Any:
    m = load_payload_module(ALTER, version, EntityType.request)
    lists: list[tuple[int, tuple[int, ...] | None]] = [
        (0, (node,)),
        (1, ()),
        (0, (node, node)),
        (1, (node, 99)),
        (0, (99,)),
        (1, None),
        (7, (node,)),
    ]
    fields: dict[str, Any] = {
        "timeout": TIMEOUT,
        "topics": (
            m.ReassignableTopic(
                name=topic,
                partitions=tuple(
                    m.ReassignablePartition(partition_index=p, replicas=r) for p, r in lists
                ),
            ),
            m.ReassignableTopic(
                name=MISSING,
                partitions=(m.ReassignablePartition(partition_index=0, replicas=(node,)),),
            ),
        ),
    }
    if version >= 1:
        fields["allow_replication_factor_change"] = allow
    answer = _send(cluster, ALTER, version, "diff-reassign", **fields)[1]
    shown = {topic: "topic", str(node): "NODE"}
    return (
        int(answer.error_code),
        answer.error_message,
        getattr(answer, "allow_replication_factor_change", None),
        [
            (
                shown.get(t.name, t.name),
                [
                    (p.partition_index, int(p.error_code), _masked(p.error_message, topic, node))
                    for p in t.partitions
                ],
            )
            for t in answer.responses
        ],
    )


def _masked(message: str | None, topic: str, node: int | None = None) -> str | None:
    if message is None:
        return None
    return message.replace(topic, "topic").replace(f"broker {node}", "broker NODE")


def scenario(cluster: Cluster) -> dict[str, Any]:
    topic = unique_topic("replica-admin")
    create_topic(cluster, topic, partitions=2)
    node = int(_node(cluster))
    names = {topic: "topic"}
    seen: dict[str, Any] = {}
    for version in (0, 1, 2):
        for election in (0, 1, 7):
            if version == 0 and election:
                continue
            seen[f"elect v{version} type {election}"] = _elect(
                cluster, version, topic, election, names
            )
    # Every partition: ours need no election, so our topic is listed with none.
    every = _send(cluster, ELECT, 2, "diff-elect", election_type=0, topic_partitions=None,
                  timeout=TIMEOUT)[1]  # fmt: skip
    seen["elect all"] = (
        int(every.error_code),
        [r for r in _results(every, names) if r[0] == "topic"],
        all(not t.partition_result for t in every.replica_election_results),
    )
    for version in (0, 1):
        for allow in (True, False):
            if version == 0 and not allow:
                continue
            seen[f"reassign v{version} allow {allow}"] = _alter(
                cluster, version, topic, node, allow
            )
    m = load_payload_module(LIST, 0, EntityType.request)
    for asked in (
        None,
        (m.ListPartitionReassignmentsTopics(name=topic, partition_indexes=(0, 1)),),
    ):
        answer = _send(cluster, LIST, 0, "diff-list", timeout=TIMEOUT, topics=asked)[1]
        seen[f"list {'all' if asked is None else 'topic'}"] = (
            int(answer.error_code),
            answer.error_message,
            answer.topics,
        )
    return seen


def test_replica_admin_answers_as_a_one_broker_kafka(clusters: tuple[Cluster, Cluster]) -> None:
    seen = observe(clusters, scenario)
    kafka = seen["kafka"]
    # The reference answered what a one-broker cluster must.
    assert kafka["elect v1 type 0"][1][0][1][0][1] == 84  # ELECTION_NOT_NEEDED
    assert kafka["reassign v1 allow True"][3][0][1][0] == (0, 0, None)
    assert kafka["list all"] == (0, None, ())
    assert_same(seen)


def tools(cluster: Cluster, work: Path) -> dict[str, Any]:
    topic = unique_topic("replica-tools")
    create_topic(cluster, topic, partitions=2)
    node = int(_node(cluster))
    plan = work / f"{cluster.kind}-plan.json"
    plan.write_text(
        json.dumps(
            {
                "version": 1,
                "partitions": [
                    {"topic": topic, "partition": p, "replicas": [node], "log_dirs": ["any"]}
                    for p in (0, 1)
                ],
            }
        )
    )

    def run(main: str, *args: str) -> str:
        done = subprocess.run(
            java_command(main, ["--bootstrap-server", cluster.bootstrap, *args]),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        said = f"exit {done.returncode}: {done.stdout.strip()}".replace(topic, "TOPIC")
        said = said.replace(f"[{node}]", "[NODE]").replace(f"broker {node}", "broker NODE")
        # Each broker's own data directory.
        return re.sub(r'"log_dirs":\[[^\]]*\]', '"log_dirs":[DIR]', said)

    elect = "org.apache.kafka.tools.LeaderElectionCommand"
    reassign = "org.apache.kafka.tools.reassign.ReassignPartitionsCommand"
    return {
        "elect one": run(
            elect, "--election-type", "PREFERRED", "--topic", topic, "--partition", "0"
        ),
        "elect all": run(elect, "--election-type", "PREFERRED", "--all-topic-partitions"),
        "list": run(reassign, "--list"),
        "execute": run(reassign, "--execute", "--reassignment-json-file", str(plan)),
        "verify": run(reassign, "--verify", "--reassignment-json-file", str(plan)),
    }


def test_replica_tools_print_the_same(clusters: tuple[Cluster, Cluster], tmp_path: Path) -> None:
    seen = observe(clusters, lambda c: tools(c, tmp_path))
    assert seen["kafka"]["list"] == "exit 0: No partition reassignments found."
    assert "Valid replica already elected" in seen["kafka"]["elect one"]
    assert_same(seen)
