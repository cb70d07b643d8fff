"""Differential: resetting and deleting a share group's start offsets, on both brokers.

`kafka-share-groups.sh --reset-offsets --to-earliest / --to-latest / --to-datetime
--execute` and `--delete-offsets` (Kafka's own ShareGroupCommand, through the Java admin
client's AlterShareGroupOffsets / DeleteShareGroupOffsets) print the same on both, refuse
the same while a member is in the group, and the records a new member then acquires start
at the new offset with delivery count 1. Raw AlterShareGroupOffsets / DeleteShareGroupOffsets
v0 requests get the same error codes for unknown groups, topics and partitions.
"""

from __future__ import annotations

import datetime
import subprocess
import uuid
from typing import Any

import pytest

from reference.launcher import java_command
from tests.clusters import Cluster
from tests.differential.harness import assert_same, create_topic, observe, produce, unique_topic
from tests.differential.test_share_groups import (
    Conn,
    _call,
    _open_and_acquire,
    heartbeat,
    set_group_config,
    share_ack,
    topic_id,
    wait_coordinator,
)

pytestmark = pytest.mark.kafka

ALTER, DELETE = 91, 92
TOOL = "org.apache.kafka.tools.consumer.group.ShareGroupCommand"
BASE_TS = 1_600_000_000_000  # ms; record i is stamped BASE_TS + i seconds


def _tool(cluster: Cluster, group: str, topic: str, *args: str) -> tuple[int, str]:
    """(exit code, stdout + stderr with the run's names replaced) of kafka-share-groups.sh."""
    result = subprocess.run(
        java_command(TOOL, ["--bootstrap-server", cluster.bootstrap, "--group", group, *args]),
        capture_output=True,
        timeout=120,
        check=False,
    )
    text = (result.stdout + result.stderr).decode(errors="replace")
    lines = [
        " ".join(line.replace(group, "G").replace(topic, "T").split())
        for line in text.splitlines()
        if line.strip() and "WARN" not in line
    ]
    return result.returncode, "\n".join(lines)


def _reset(cluster: Cluster, group: str, topic: str, *how: str) -> tuple[int, str]:
    return _tool(cluster, group, topic, "--reset-offsets", *how, "--execute", "--topic", topic)


def _read_once(
    cluster: Cluster, group: str, topic: str, tid: uuid.UUID
) -> list[tuple[int, int, int]]:
    """A fresh member's first acquisition (all accepted), then it leaves."""
    member = str(uuid.uuid4())
    assert heartbeat(cluster, group, member, 0, [topic]).error_code == 0
    conn = Conn(cluster)
    try:
        epoch, acquired = _open_and_acquire(conn, group, member, tid)
        if acquired:
            share_ack(conn, group, member, epoch, tid, [(f, la) for f, la, _ in acquired])
    finally:
        conn.close()
    assert heartbeat(cluster, group, member, -1, None).error_code == 0
    return acquired


def alter_offsets(
    cluster: Cluster, group: str, topics: list[tuple[str, list[tuple[int, int]]]]
) -> Any:
    from kio.schema.alter_share_group_offsets.v0 import request as req

    reply = _call(
        cluster, ALTER, 0, "AlterShareGroupOffsetsRequest",
        group_id=group,
        topics=tuple(
            req.AlterShareGroupOffsetsRequestTopic(
                topic_name=name,
                partitions=tuple(
                    req.AlterShareGroupOffsetsRequestPartition(partition_index=i, start_offset=o)
                    for i, o in parts
                ),
            )
            for name, parts in topics
        ),
    )  # fmt: skip
    return int(reply.error_code), sorted(
        (t.topic_name == topics[0][0], int(p.partition_index), int(p.error_code))
        for t in reply.responses
        for p in t.partitions
    )


def delete_offsets(cluster: Cluster, group: str, names: list[str]) -> Any:
    from kio.schema.delete_share_group_offsets.v0 import request as req

    reply = _call(
        cluster, DELETE, 0, "DeleteShareGroupOffsetsRequest",
        group_id=group,
        topics=tuple(req.DeleteShareGroupOffsetsRequestTopic(topic_name=n) for n in names),
    )  # fmt: skip
    return int(reply.error_code), sorted(
        (names.index(t.topic_name), int(t.error_code), t.topic_id not in (None, uuid.UUID(int=0)))
        for t in reply.responses
    )


def scenario(cluster: Cluster) -> dict[str, Any]:
    topic = unique_topic("share-reset")
    create_topic(cluster, topic)
    produce(
        cluster, topic,
        [{"value": b"v%d" % i, "partition": 0, "timestamp": BASE_TS + i * 1000} for i in range(10)],
    )  # fmt: skip
    tid = topic_id(cluster, topic)
    group = f"diff-share-reset-{uuid.uuid4().hex[:8]}"
    wait_coordinator(cluster, group)
    set_group_config(cluster, group, "share.auto.offset.reset", "earliest")
    out: dict[str, Any] = {}
    out["delete unknown group"] = delete_offsets(cluster, group + "-none", [topic])
    # Both make the group they are asked to reset (Empty, with that start offset).
    out["reset unknown group"] = _reset(cluster, group + "-new", topic, "--to-earliest")
    out["alter unknown group"] = alter_offsets(cluster, group + "-new2", [(topic, [(0, 4)])])
    out["made by alter"] = _tool(cluster, group + "-new2", topic, "--describe")
    out["alter empty group id"] = alter_offsets(cluster, "", [(topic, [(0, 0)])])

    member = str(uuid.uuid4())
    assert heartbeat(cluster, group, member, 0, [topic]).error_code == 0
    conn = Conn(cluster)
    try:
        epoch, acquired = _open_and_acquire(conn, group, member, tid)
        out["first read"] = acquired
        share_ack(conn, group, member, epoch, tid, [(0, 9)])
        out["reset with a member"] = _reset(cluster, group, topic, "--to-earliest")
        out["alter with a member"] = alter_offsets(cluster, group, [(topic, [(0, 0)])])
        out["delete with a member"] = _tool(
            cluster, group, topic, "--delete-offsets", "--topic", topic
        )
    finally:
        conn.close()
    assert heartbeat(cluster, group, member, -1, None).error_code == 0

    out["reset to earliest"] = _reset(cluster, group, topic, "--to-earliest")
    out["read after earliest"] = _read_once(cluster, group, topic, tid)
    when = datetime.datetime.fromtimestamp((BASE_TS + 5000) / 1000, datetime.UTC)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.000")
    out["reset to datetime"] = _reset(cluster, group, topic, "--to-datetime", stamp)
    out["read after datetime"] = _read_once(cluster, group, topic, tid)
    out["reset to latest"] = _reset(cluster, group, topic, "--to-latest")
    produce(cluster, topic, [{"value": b"n%d" % i, "partition": 0} for i in range(2)])
    out["read after latest"] = _read_once(cluster, group, topic, tid)

    out["alter bad parts"] = alter_offsets(
        cluster, group, [(topic, [(0, 3), (7, 0)]), ("no-such-topic-share", [(0, 0)])]
    )
    # Kafka acquires up to the end of the batch holding the new start here, Odradek on to
    # the log end: only where the delivery starts is compared.
    out["read after alter"] = _read_once(cluster, group, topic, tid)[0][::2]
    out["delete unknown topic"] = delete_offsets(cluster, group, [topic + "-none"])
    out["delete offsets"] = _tool(cluster, group, topic, "--delete-offsets", "--topic", topic)
    out["delete again"] = delete_offsets(cluster, group, [topic])
    out["describe after delete"] = _tool(cluster, group, topic, "--describe")
    return out


def test_share_group_offsets_reset_anddelete_offsets(clusters: tuple[Cluster, Cluster]) -> None:
    assert_same(observe(clusters, scenario))
