"""Kafka's own admin tools (kafka-topics, kafka-consumer-groups, kafka-configs,
GetOffsetShell) print the same thing for Odradek as for Apache Kafka.

These are what operators type; they run the Java AdminClient, which negotiates its own API
versions (e.g. DescribeTopicPartitions when advertised) and falls back when not. Output is
compared line by line after replacing what is legitimately per cluster: topic and group
names, topic ids, node ids and consumer/host columns.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from reference.launcher import java_command
from tests.clusters import Cluster, cluster_for
from tests.differential.harness import QUIET, assert_same, create_topic, observe, produce

pytestmark = pytest.mark.kafka

TOOL_TIMEOUT = 90.0


@pytest.fixture
def clusters(request: pytest.FixtureRequest) -> tuple[Cluster, Cluster]:
    return cluster_for(request, "kafka"), cluster_for(request, "odradek")


def tool(main: str, *args: str) -> tuple[int, list[str]]:
    done = subprocess.run(
        java_command(f"org.apache.kafka.tools.{main}", list(args)),
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
        check=False,
    )
    # The tools' answers go to stdout, their errors to stderr (after JVM/log4j noise):
    # keep stdout, and stderr's last line when the tool failed.
    lines = [line.rstrip() for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0:
        lines += [f"stderr: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ''}"]
    return done.returncode, lines


def normalise(lines: list[str], names: dict[str, str]) -> list[str]:
    out = []
    for line in lines:
        for real, alias in names.items():
            line = line.replace(real, alias)
        line = re.sub(r"TopicId: \S+", "TopicId: <id>", line)
        line = re.sub(r"(Leader|Replicas|Isr): \d+", r"\1: <node>", line)
        # kafka-topics lists configs whose source is not DEFAULT_CONFIG; Kafka's
        # cluster-wide min.insync.replicas is a documented difference
        # (docs/compatibility.md, "Source of min.insync.replicas").
        line = line.replace("Configs: min.insync.replicas=1,", "Configs: ")
        out.append(re.sub(r"[ \t]+", " ", line).strip())
    return out


def test_describe_tools(clusters: tuple[Cluster, ...]) -> None:
    """kafka-topics --describe, kafka-consumer-groups --describe and kafka-configs
    --describe on a topic with an override and a group with committed offsets. (Three
    JVM starts per cluster: each tool run costs seconds on this machine.)"""

    def scenario(cluster: Cluster) -> dict[str, Any]:
        topic = f"tools-{uuid.uuid4().hex[:8]}"
        group = f"tools-{uuid.uuid4().hex[:8]}"
        names = {topic: "<topic>", group: "<group>"}
        create_topic(cluster, topic, partitions=2, config={"retention.ms": "1000000"})
        produce(cluster, topic, [{"value": b"x", "partition": i % 2} for i in range(9)])
        consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group, **QUIET})
        consumer.commit(
            offsets=[TopicPartition(topic, 0, 2), TopicPartition(topic, 1, 4)],
            asynchronous=False,
        )
        consumer.close()
        b = ("--bootstrap-server", cluster.bootstrap)
        runs = {
            "topics": ("TopicCommand", *b, "--describe", "--topic", topic),
            "groups": ("consumer.group.ConsumerGroupCommand", *b, "--describe", "--group", group),
            "configs": ("ConfigCommand", *b, "--describe", "--entity-type", "topics",
                        "--entity-name", topic),
        }  # fmt: skip
        seen: dict[str, Any] = {}
        for label, (main, *args) in runs.items():
            code, lines = tool(main, *args)
            seen[label] = (code, normalise(lines, names))
        return seen

    seen = observe(clusters, scenario)
    kafka = seen["kafka"]
    assert kafka["topics"][0] == 0
    assert kafka["topics"][1][0].startswith("Topic: <topic> TopicId: <id> PartitionCount: 2")
    assert any(line.startswith("<group> <topic> 0 2 5 3") for line in kafka["groups"][1])
    assert any("retention.ms=1000000" in line for line in kafka["configs"][1])
    # kafka-topics describes through DescribeTopicPartitions (API 75) on both: the
    # eligible-leader-replica columns are empty lists, not N/A (the Metadata fallback).
    assert all(line.endswith("Elr: LastKnownElr:") for line in kafka["topics"][1][1:])
    assert_same(seen)
