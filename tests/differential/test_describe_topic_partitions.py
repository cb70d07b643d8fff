"""Differential: DescribeTopicPartitions (API 75) on the wire, paging included.

The Java AdminClient (Kafka 3.8+) describes topics with it when the broker advertises it
(`tests/java/test_admin_tools.py` compares `kafka-topics --describe`); here the raw
answers are compared field by field: topic order, errors for unknown and invalid names,
partition fields, `next_cursor` under a partition limit and resuming from a cursor.
Topic ids differ per cluster and are compared as "zero or not".
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from kio.schema.describe_topic_partitions.v0.request import (
    Cursor,
    DescribeTopicPartitionsRequest,
    TopicRequest,
)
from kio.schema.describe_topic_partitions.v0.response import DescribeTopicPartitionsResponse
from kio.static.primitive import i32

from tests.clusters import Cluster
from tests.differential.harness import (
    assert_same,
    create_topic,
    observe,
    unique_topic,
    watermarks,
)
from tests.differential.wire import decode, encode, exchange, frame

pytestmark = pytest.mark.kafka

DESCRIBE_TOPIC_PARTITIONS = 75


def describe(
    cluster: Cluster,
    names: list[str],
    aliases: dict[str, str],
    limit: int = 2000,
    cursor: tuple[str, int] | None = None,
) -> Any:
    request = DescribeTopicPartitionsRequest(
        topics=tuple(TopicRequest(name=n) for n in names),
        response_partition_limit=i32(limit),
        cursor=Cursor(topic_name=cursor[0], partition_index=i32(cursor[1])) if cursor else None,
    )
    raw = frame(DESCRIBE_TOPIC_PARTITIONS, 0, 3, encode(request), flexible=True)
    reply = exchange(cluster.bootstrap, raw)
    assert isinstance(reply, bytes), reply
    response = decode(DescribeTopicPartitionsResponse, reply[5:])  # header v1: one tag byte

    def alias(name: str | None) -> str | None:
        return aliases.get(name, name) if name is not None else None

    topics = [
        (
            int(t.error_code),
            alias(t.name),
            t.topic_id is not None and t.topic_id.int != 0,
            t.is_internal,
            int(t.topic_authorized_operations),
            [
                (
                    int(p.error_code),
                    int(p.partition_index),
                    len(p.replica_nodes),
                    len(p.isr_nodes),
                    p.eligible_leader_replicas,
                    p.last_known_elr,
                    p.offline_replicas,
                )
                for p in t.partitions
            ],
        )
        for t in response.topics
    ]
    nxt = response.next_cursor
    return topics, None if nxt is None else (alias(nxt.topic_name), int(nxt.partition_index))


def test_describe_topic_partitions(clusters: tuple[Cluster, ...]) -> None:
    def scenario(cluster: Cluster) -> dict[str, Any]:
        stem = unique_topic("dtp")
        a, b = f"{stem}-a", f"{stem}-b"
        absent = f"{stem}-absent-{uuid.uuid4().hex[:4]}"
        aliases = {a: "<a>", b: "<b>", absent: "<absent>"}
        create_topic(cluster, a, partitions=3)
        create_topic(cluster, b, partitions=2)
        for topic in (a, b):  # Kafka's broker knows a new topic once it has a leader
            watermarks(cluster, topic)
        both = [b, absent, a, "bad name"]
        return {
            "all": describe(cluster, both, aliases),
            "limit_2": describe(cluster, both, aliases, limit=2),
            "from_a_2": describe(cluster, both, aliases, limit=2, cursor=(a, 2)),
            "limit_3": describe(cluster, [a, b], aliases, limit=3),
            "from_b": describe(cluster, [a, b], aliases, cursor=(b, 0)),
            "cursor_not_listed": describe(cluster, [a], aliases, cursor=(b, 0)),
            # Found by fuzzing: a negative partition index in the cursor.
            "cursor_negative": describe(cluster, [a, b], aliases, cursor=(a, -5)),
            "cursor_negative_all": describe(cluster, [], aliases, cursor=(a, -1)),
        }

    seen = observe(clusters, scenario)
    kafka = seen["kafka"]
    topics, cursor = kafka["all"]
    assert [(t[0], t[1]) for t in topics] == [
        (17, "bad name"),  # INVALID_TOPIC_EXCEPTION
        (0, "<a>"),
        (3, "<absent>"),  # UNKNOWN_TOPIC_OR_PARTITION
        (0, "<b>"),
    ]
    assert cursor is None
    assert topics[1][5][0] == (0, 0, 1, 1, (), (), ())  # empty ELR lists, not null
    assert kafka["limit_2"][1] == ("<a>", 2)
    assert kafka["from_a_2"][1] == ("<b>", 1)
    assert kafka["limit_3"][1] == ("<b>", 0)
    assert kafka["cursor_not_listed"][0][0][0] == 42  # INVALID_REQUEST
    assert_same(seen)
