"""Differential: consumer groups — rebalances, offset commit/fetch, listings, deletion."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from confluent_kafka import (
    Consumer,
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    TopicPartition,
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
    produce,
    unique_topic,
)

pytestmark = pytest.mark.kafka


def group_consumer(cluster: Cluster, group: str, **conf: Any) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": cluster.bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 10000,
            "heartbeat.interval.ms": 500,
            **QUIET,
            **conf,
        }
    )


def settle(consumers: list[Consumer], expected_total: int) -> list[list[int]]:
    """Poll every consumer until their assignments cover `expected_total` partitions
    with no overlap and every member holds some; returns the sorted assignment shapes (member ids differ per cluster)."""
    deadline = time.monotonic() + TIMEOUT
    shapes: list[list[int]] = []
    while time.monotonic() < deadline:
        for consumer in consumers:
            consumer.poll(0.1)
        shapes = sorted(sorted(tp.partition for tp in c.assignment()) for c in consumers)
        flat = [p for shape in shapes for p in shape]
        settled = all(shapes) or len(consumers) > expected_total
        if settled and len(flat) == expected_total and len(set(flat)) == expected_total:
            return shapes
    return shapes


@pytest.mark.parametrize("strategy", ["range", "roundrobin", "cooperative-sticky"])
def test_classic_rebalance(clusters: tuple[Cluster, ...], strategy: str) -> None:
    def scenario(cluster: Cluster) -> dict[str, Any]:
        topic = unique_topic("rebal")
        create_topic(cluster, topic, partitions=4)
        group = f"g-{uuid.uuid4().hex[:8]}"
        conf = {"partition.assignment.strategy": strategy}
        first = group_consumer(cluster, group, **conf)
        second = group_consumer(cluster, group, **conf)
        seen: dict[str, Any] = {}
        try:
            first.subscribe([topic])
            seen["alone"] = settle([first], 4)
            second.subscribe([topic])
            seen["pair"] = settle([first, second], 4)
            second.close()
            seen["after_leave"] = settle([first], 4)
        finally:
            first.close()
        return seen

    seen = observe(clusters, scenario)
    kafka = seen["kafka"]
    assert kafka["alone"] == [[0, 1, 2, 3]]
    assert [len(s) for s in kafka["pair"]] == [2, 2]
    assert kafka["after_leave"] == [[0, 1, 2, 3]]
    if strategy == "cooperative-sticky":
        # Sticky assignment keeps members' partitions, so which two each holds depends
        # on join order timing; only the shape is defined.
        seen = {k: {**v, "pair": [len(s) for s in v["pair"]]} for k, v in seen.items()}
    assert_same(seen)


def test_consumer_protocol_rebalance(clusters: tuple[Cluster, ...]) -> None:
    """KIP-848 (group.protocol=consumer): the broker computes assignments."""

    def scenario(cluster: Cluster) -> dict[str, Any]:
        topic = unique_topic("kip848")
        create_topic(cluster, topic, partitions=4)
        group = f"g848-{uuid.uuid4().hex[:8]}"
        conf = {"group.protocol": "consumer"}
        first = Consumer(
            {
                "bootstrap.servers": cluster.bootstrap,
                "group.id": group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                **QUIET,
                **conf,
            }
        )
        second = Consumer(
            {
                "bootstrap.servers": cluster.bootstrap,
                "group.id": group,
                "enable.auto.commit": False,
                **QUIET,
                **conf,
            }
        )
        seen: dict[str, Any] = {}
        try:
            first.subscribe([topic])
            seen["alone"] = settle([first], 4)
            second.subscribe([topic])
            seen["pair"] = [len(s) for s in settle([first, second], 4)]
            second.close()
            seen["after_leave"] = settle([first], 4)
            client = admin(cluster)
            futures = client.describe_consumer_groups([group], request_timeout=TIMEOUT)
            described = futures[group].result(timeout=TIMEOUT)
            seen["type"] = str(described.type)
        finally:
            first.close()
        return seen

    seen = observe(clusters, scenario)
    assert seen["kafka"]["pair"] == [2, 2]
    assert_same(seen)


def test_offset_commit_and_fetch(clusters: tuple[Cluster, ...]) -> None:
    def scenario(cluster: Cluster) -> dict[str, Any]:
        topic = unique_topic("commit")
        create_topic(cluster, topic, partitions=2)
        produce(cluster, topic, [{"value": b"x", "partition": i % 2} for i in range(10)])
        group = f"gc-{uuid.uuid4().hex[:8]}"
        seen: dict[str, Any] = {}
        consumer = group_consumer(cluster, group)
        try:
            consumer.subscribe([topic])
            settle([consumer], 2)
            seen["before"] = [
                tp.offset
                for tp in consumer.committed(
                    [TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=TIMEOUT
                )
            ]
            consumer.commit(
                offsets=[
                    TopicPartition(topic, 0, 3, metadata="m0"),
                    TopicPartition(topic, 1, 5),
                ],
                asynchronous=False,
            )
            seen["after"] = [
                (tp.offset, tp.metadata)
                for tp in consumer.committed(
                    [TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=TIMEOUT
                )
            ]
        finally:
            consumer.close()
        client = admin(cluster)
        request = ConsumerGroupTopicPartitions(group)
        listed = client.list_consumer_group_offsets([request], request_timeout=TIMEOUT)
        result = listed[group].result(timeout=TIMEOUT)
        seen["admin_list"] = sorted(
            (tp.partition, tp.offset) for tp in result.topic_partitions if tp.topic == topic
        )
        # Altering offsets of an empty group works; the new value is what is fetched.
        altered = client.alter_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0, 1)])],
            request_timeout=TIMEOUT,
        )
        seen["alter"] = outcome(altered[group])
        result = client.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0)])],
            request_timeout=TIMEOUT,
        )[group].result(timeout=TIMEOUT)
        seen["after_alter"] = [(tp.partition, tp.offset) for tp in result.topic_partitions]
        unknown = f"none-{uuid.uuid4().hex[:8]}"
        result = client.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(unknown, [TopicPartition(topic, 0)])],
            request_timeout=TIMEOUT,
        )[unknown].result(timeout=TIMEOUT)
        seen["unknown_group"] = [(tp.partition, tp.offset) for tp in result.topic_partitions]
        return seen

    seen = observe(clusters, scenario)
    kafka = seen["kafka"]
    assert kafka["before"] == [-1001, -1001]
    assert kafka["after"] == [(3, "m0"), (5, None)]
    assert kafka["admin_list"] == [(0, 3), (1, 5)]
    assert kafka["after_alter"] == [(0, 1)]
    assert_same(seen)


def test_group_listing_and_deletion(clusters: tuple[Cluster, ...]) -> None:
    def scenario(cluster: Cluster) -> dict[str, Any]:
        topic = unique_topic("list")
        create_topic(cluster, topic, partitions=2)
        group = f"gl-{uuid.uuid4().hex[:8]}"
        client = admin(cluster)
        seen: dict[str, Any] = {}
        consumer = group_consumer(cluster, group, **{"partition.assignment.strategy": "range"})
        try:
            consumer.subscribe([topic])
            settle([consumer], 2)
            listed = client.list_consumer_groups(request_timeout=TIMEOUT).result(timeout=TIMEOUT)
            mine = [g for g in listed.valid if g.group_id == group]
            seen["listed"] = [(g.is_simple_consumer_group, str(g.state)) for g in mine]
            d = client.describe_consumer_groups([group], request_timeout=TIMEOUT)[group].result(
                timeout=TIMEOUT
            )
            seen["describe"] = (
                d.is_simple_consumer_group,
                str(d.state),
                d.partition_assignor,
                len(d.members),
                sorted(
                    (tp.topic == topic, tp.partition)
                    for m in d.members
                    for tp in m.assignment.topic_partitions
                ),
                d.coordinator is not None,
            )
            seen["delete_active"] = outcome(
                client.delete_consumer_groups([group], request_timeout=TIMEOUT)[group]
            )
            consumer.commit(offsets=[TopicPartition(topic, 0, 1)], asynchronous=False)
        finally:
            consumer.close()
        d = client.describe_consumer_groups([group], request_timeout=TIMEOUT)[group].result(
            timeout=TIMEOUT
        )
        seen["after_close"] = (str(d.state), len(d.members))
        seen["filtered_empty"] = [
            g.group_id == group
            for g in client.list_consumer_groups(
                request_timeout=TIMEOUT, states={ConsumerGroupState.EMPTY}
            )
            .result(timeout=TIMEOUT)
            .valid
            if g.group_id == group
        ]
        seen["delete_empty"] = outcome(
            client.delete_consumer_groups([group], request_timeout=TIMEOUT)[group]
        )
        missing = f"missing-{uuid.uuid4().hex[:8]}"
        seen["delete_missing"] = outcome(
            client.delete_consumer_groups([missing], request_timeout=TIMEOUT)[missing]
        )
        try:
            d = client.describe_consumer_groups([missing], request_timeout=TIMEOUT)[missing].result(
                timeout=TIMEOUT
            )
            seen["describe_missing"] = (str(d.state), len(d.members))
        except Exception as exc:
            seen["describe_missing"] = error_name(exc)
        return seen

    seen = observe(clusters, scenario)
    kafka = seen["kafka"]
    assert kafka["listed"] == [(False, "ConsumerGroupState.STABLE")]
    assert kafka["delete_active"] == "NON_EMPTY_GROUP"
    assert kafka["delete_empty"] == "OK"
    assert kafka["filtered_empty"] == [True]
    assert_same(seen)


def test_empty_groups_stay_listed_until_cleanup(clusters: tuple[Cluster, ...]) -> None:
    """A group whose members left stays listed (Empty), committed offsets or not, and
    also after its last offsets are deleted: Kafka drops such groups only in its
    periodic cleanup (offsets.retention.check.interval.ms, 10 minutes)."""

    def scenario(cluster: Cluster) -> dict[str, Any]:
        topic = unique_topic("empty")
        create_topic(cluster, topic, partitions=1)
        client = admin(cluster)
        never, emptied = (f"ge-{uuid.uuid4().hex[:8]}" for _ in range(2))
        for group in (never, emptied):
            consumer = group_consumer(cluster, group)
            try:
                consumer.subscribe([topic])
                settle([consumer], 1)
                if group == emptied:
                    consumer.commit(offsets=[TopicPartition(topic, 0, 1)], asynchronous=False)
            finally:
                consumer.close()
        seen: dict[str, Any] = {}
        # OffsetDelete through kafka-python: confluent-kafka's AdminClient has no call for it.
        from kafka import TopicPartition as KafkaPythonPartition
        from kafka.admin import KafkaAdminClient

        kp = KafkaAdminClient(bootstrap_servers=cluster.bootstrap, request_timeout_ms=20000)
        try:
            result = kp.delete_group_offsets(emptied, [KafkaPythonPartition(topic, 0)])
            seen["delete_offsets"] = sorted((tp.partition, e.__name__) for tp, e in result.items())
        finally:
            kp.close()
        listed = client.list_consumer_groups(request_timeout=TIMEOUT).result(timeout=TIMEOUT)
        seen["listed"] = sorted(
            (g.group_id == never, str(g.state))
            for g in listed.valid
            if g.group_id in (never, emptied)
        )
        for group in (never, emptied):
            d = client.describe_consumer_groups([group], request_timeout=TIMEOUT)[group].result(
                timeout=TIMEOUT
            )
            seen[f"describe_{group == never}"] = (str(d.state), len(d.members))
        return seen

    seen = observe(clusters, scenario)
    kafka = seen["kafka"]
    assert kafka["delete_offsets"] == [(0, "NoError")]
    assert kafka["listed"] == [
        (False, "ConsumerGroupState.EMPTY"),
        (True, "ConsumerGroupState.EMPTY"),
    ]
    assert_same(seen)
