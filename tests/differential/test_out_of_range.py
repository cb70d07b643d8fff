"""Differential: field values a request may carry but Kafka refuses, and how it says so.

ListOffsets with a special timestamp the version lacks (or none at all) is
UNSUPPORTED_VERSION, and an unknown isolation level UNKNOWN_SERVER_ERROR per partition.
Fetch with a negative byte limit fails its partitions, an unknown isolation level fails
the whole request, and one sent with a replica id (a follower's fetch) is
NOT_LEADER_OR_FOLLOWER. CreateTopics and CreatePartitions are checked as Kafka's controller
checks them, configs first, then a manual assignment (only this broker, once, for each new
partition), the partition count and the replication factor, with its messages; a config
value is refused with Kafka's wording, as are config resources naming no topic, an
invalid one, or another broker, and alterations Kafka cannot apply. Produce refuses a batch
whose header Kafka refuses (a base offset other than 0, a record count that does not
match the offset range, an unknown codec, records marked compressed that are no stream of
that codec, or an lz4 frame Kafka's consumers cannot read), a transactional batch without a transactional
id, and any client write to an internal topic or deletion of its records. Raw requests on fresh connections; the broker's own
id, which differs (Kafka's reference is 1, Odradek 0), stands in assignments for "this
broker".
"""

from __future__ import annotations

import datetime
import struct
from typing import Any

import cramjam
import crc32c
import pytest
from confluent_kafka import Consumer, TopicPartition

from tests.clusters import Cluster
from tests.differential.harness import (
    QUIET,
    assert_same,
    create_topic,
    observe,
    produce,
    unique_topic,
    watermarks,
)
from tests.differential.test_named_twice import _call, _m, _Run
from tests.differential.wire import record_batch

pytestmark = pytest.mark.kafka

PRODUCE, FETCH, LIST_OFFSETS, METADATA, CREATE_TOPICS = 0, 1, 2, 3, 19
DELETE_RECORDS, CREATE_PARTITIONS, INCREMENTAL_ALTER_CONFIGS = 21, 37, 44
TOPIC_RESOURCE, BROKER_RESOURCE = 2, 4
DESCRIBE_CONFIGS = 32
CRC_AT, ATTRIBUTES_AT = 17, 21
# Where a v2 batch header keeps each field, and how it is packed.
HEADER_FIELDS = {
    "base_offset": (0, ">q"),
    "attributes": (21, ">h"),
    "last_offset_delta": (23, ">i"),
    "count": (57, ">i"),
}
FOREIGN = 77  # a broker id neither cluster has


# Where Odradek says more than Kafka, or words it as Kafka does elsewhere, only codes are
# compared: Kafka names an invalid topic on DescribeConfigs otherwise than on CreateTopics
# (Odradek uses the CreateTopics wording for both), and sends no message for an unknown
# topic there or for an unknown alter operation, nor on Produce.
CODES_ONLY = (
    "describe configs, topic named ''",
    "describe configs, topic with a bad name",
    "describe configs, unknown topic",
    "alter configs, operation 9",
)


def _codes_only(label: str) -> bool:
    return label in CODES_ONLY or label.startswith("produce, ")


def _without_messages(seen: Any) -> Any:
    if isinstance(seen, list):
        return [_without_messages(s) for s in seen if not str(s).startswith("error_message=")]
    if isinstance(seen, tuple):
        return (seen[0], [_without_messages(s) for s in seen[1]])
    return seen


def _list_offsets(run: _Run, topic: str) -> None:
    for version, stamps in ((5, (-3, -4)), (7, (-3, -4, -5, -6, -100))):
        m = _m(LIST_OFFSETS, version)
        for stamp in stamps:
            run(
                f"list offsets v{version} at {stamp}", LIST_OFFSETS, version,
                "ListOffsetsRequest", replica_id=-1, isolation_level=0,
                topics=(m.ListOffsetsTopic(name=topic, partitions=(
                    m.ListOffsetsPartition(partition_index=0, current_leader_epoch=-1,
                                           timestamp=stamp),
                )),),
            )  # fmt: skip
    m = _m(LIST_OFFSETS, 7)
    for isolation in (2, -1):
        run(
            f"list offsets, isolation {isolation}", LIST_OFFSETS, 7, "ListOffsetsRequest",
            replica_id=-1, isolation_level=isolation,
            topics=(m.ListOffsetsTopic(name=topic, partitions=(
                m.ListOffsetsPartition(partition_index=0, current_leader_epoch=-1, timestamp=-1),
            )),),
        )  # fmt: skip


def _fetch(run: _Run, topic: str) -> None:
    m = _m(FETCH, 12)
    cases: dict[str, dict[str, Any]] = {
        "partition max bytes -1": {"partition_max_bytes": -1},
        "max bytes -1": {"max_bytes": -1},
        "isolation 2": {"isolation_level": 2},
        "replica id 5": {"replica_id": 5},
    }
    for label, change in cases.items():
        fields: dict[str, Any] = {
            "partition_max_bytes": 1000, "max_bytes": 100_000, "isolation_level": 0,
            "replica_id": -1,
        }  # fmt: skip
        fields.update(change)
        part = m.FetchPartition(
            partition=0, current_leader_epoch=-1, fetch_offset=0, last_fetched_epoch=-1,
            log_start_offset=-1, partition_max_bytes=fields["partition_max_bytes"],
        )  # fmt: skip
        run(
            f"fetch, {label}", FETCH, 12, "FetchRequest",
            cluster_id=None, replica_id=fields["replica_id"],
            max_wait=datetime.timedelta(milliseconds=10), min_bytes=0,
            max_bytes=fields["max_bytes"], isolation_level=fields["isolation_level"],
            session_id=0, session_epoch=-1,
            topics=(m.FetchTopic(topic=topic, partitions=(part,)),),
            forgotten_topics_data=(), rack_id="",
        )  # fmt: skip


def _create_topics(run: _Run, node: int) -> None:
    m = _m(CREATE_TOPICS, 7)

    def create(label: str, **fields: Any) -> None:
        name = unique_topic("range")
        run.labels[name] = "new"
        entry = {"num_partitions": 1, "replication_factor": 1, "assignments": (), "configs": ()}
        entry.update(fields)
        run(
            f"create topic, {label}", CREATE_TOPICS, 7, "CreateTopicsRequest",
            topics=(m.CreatableTopic(name=name, **entry),),
            timeout=datetime.timedelta(seconds=10), validate_only=True,
        )  # fmt: skip

    def on(*brokers: tuple[int, ...]) -> dict[str, Any]:
        return {
            "num_partitions": -1, "replication_factor": -1,
            "assignments": tuple(
                m.CreatableReplicaAssignment(partition_index=i, broker_ids=b)
                for i, b in enumerate(brokers)
            ),
        }  # fmt: skip

    def config(value: str | None) -> tuple[Any, ...]:
        return (m.CreatableTopicConfig(name="retention.ms", value=value),)

    for partitions in (0, -2):
        create(f"{partitions} partitions", num_partitions=partitions)
    for factor in (0, -2, 2):
        create(f"replication factor {factor}", replication_factor=factor)
    create("null config", configs=config(None))
    create("bad config and 0 partitions", num_partitions=0, configs=config("abc"))
    create("bad config and a bad assignment", **on((FOREIGN,)), configs=config("x"))
    create("assigned, partitions given", **{**on((node,)), "num_partitions": 2})
    create("assigned, factor given", **{**on((node,)), "replication_factor": 1})
    create("assigned to another broker", **on((FOREIGN,)))
    create("assigned twice to this broker", **on((node, node)))
    create("assigned to no broker", **on(()))
    create("assigned from partition 1", **{
        **on(), "assignments": (m.CreatableReplicaAssignment(partition_index=1, broker_ids=(node,)),),
    })  # fmt: skip
    create("assigned, two partitions", **on((node,), (node,)))


def _create_partitions(run: _Run, topic: str, node: int) -> None:
    m = _m(CREATE_PARTITIONS, 3)
    cases: list[tuple[str, int, Any]] = [
        ("0", 0, None),
        ("-1", -1, None),
        ("as many as now", 1, None),
        ("3, one assignment", 3, [(node,)]),
        ("2, assigned twice to this broker", 2, [(node, node)]),
        ("2, assigned to no broker", 2, [()]),
        ("2, assigned to another broker", 2, [(FOREIGN,)]),
        ("3, assigned", 3, [(node,), (node,)]),
    ]
    for label, count, assignments in cases:
        run(
            f"create partitions, {label}", CREATE_PARTITIONS, 3, "CreatePartitionsRequest",
            topics=(m.CreatePartitionsTopic(
                name=topic, count=count,
                assignments=None if assignments is None else tuple(
                    m.CreatePartitionsAssignment(broker_ids=b) for b in assignments
                ),
            ),),
            timeout=datetime.timedelta(seconds=10), validate_only=True,
        )  # fmt: skip


def _config_values(run: _Run, topic: str) -> None:
    m = _m(INCREMENTAL_ALTER_CONFIGS, 1)
    for name, value in (
        ("retention.ms", "abc"),
        ("retention.ms", "-5"),
        ("segment.bytes", "1"),
        ("min.cleanable.dirty.ratio", "x"),
        ("max.message.bytes", "99999999999"),
        ("compression.type", "foo"),
        ("compression.gzip.level", "0"),
        ("compression.zstd.level", "99"),
        ("cleanup.policy", "foo"),
        ("cleanup.policy", ""),
        ("cleanup.policy", "delete,foo"),
        ("cleanup.policy", "delete,delete"),
        ("cleanup.policy", "Delete"),
        ("cleanup.policy", "compact, delete"),
        ("cleanup.policy", "delete,"),
        ("cleanup.policy", " "),
        ("compression.type", "ZSTD"),
        ("message.timestamp.type", "logappendtime"),
        ("preallocate", "TRUE"),
        ("retention.ms", " 100 "),
        ("min.cleanable.dirty.ratio", "NaN"),
        ("min.cleanable.dirty.ratio", "1e-1"),
        ("message.timestamp.type", "foo"),
        ("preallocate", "maybe"),
    ):
        run(
            f"config {name}={value}", INCREMENTAL_ALTER_CONFIGS, 1,
            "IncrementalAlterConfigsRequest",
            resources=(m.AlterConfigsResource(
                resource_type=TOPIC_RESOURCE, resource_name=topic,
                configs=(m.AlterableConfig(name=name, config_operation=0, value=value),),
            ),),
            validate_only=True,
        )  # fmt: skip


def _config_resources(run: _Run, topic: str, node: int) -> None:
    m = _m(DESCRIBE_CONFIGS, 4)
    for label, kind, name in (
        ("topic named ''", TOPIC_RESOURCE, ""),
        ("topic with a bad name", TOPIC_RESOURCE, "bad name!"),
        ("unknown topic", TOPIC_RESOURCE, "diff-no-such-topic"),
        ("another broker", BROKER_RESOURCE, str(FOREIGN)),
        ("a broker that is no number", BROKER_RESOURCE, "abc"),
    ):
        run(
            f"describe configs, {label}", DESCRIBE_CONFIGS, 4, "DescribeConfigsRequest",
            resources=(m.DescribeConfigsResource(
                resource_type=kind, resource_name=name, configuration_keys=("retention.ms",),
            ),),
            include_synonyms=False, include_documentation=False,
        )  # fmt: skip
    m = _m(INCREMENTAL_ALTER_CONFIGS, 1)
    for label, kind, name, op, value in (
        ("operation 9", TOPIC_RESOURCE, topic, 9, "1000"),
        ("APPEND to a number", TOPIC_RESOURCE, topic, 2, "1000"),
        ("SET to null", TOPIC_RESOURCE, topic, 0, None),
        ("topic named ''", TOPIC_RESOURCE, "", 0, "1000"),
        ("unknown topic", TOPIC_RESOURCE, "diff-no-such-topic", 0, "1000"),
        ("another broker", BROKER_RESOURCE, str(FOREIGN), 0, "1000"),
    ):
        key = "retention.ms" if kind == TOPIC_RESOURCE else "log.retention.ms"
        run(
            f"alter configs, {label}", INCREMENTAL_ALTER_CONFIGS, 1,
            "IncrementalAlterConfigsRequest",
            resources=(m.AlterConfigsResource(
                resource_type=kind, resource_name=name,
                configs=(m.AlterableConfig(name=key, config_operation=op, value=value),),
            ),),
            validate_only=True,
        )  # fmt: skip


def _recrc(batch: bytearray) -> bytes:
    struct.pack_into(">I", batch, CRC_AT, crc32c.crc32c(bytes(batch[ATTRIBUTES_AT:])))
    return bytes(batch)


def _produce(run: _Run, topic: str) -> None:
    """Batch headers Kafka refuses before it reads records, a transactional batch without
    a transactional id, and client writes to an internal topic; nothing is stored."""
    cluster = run.cluster
    # Kafka makes __consumer_offsets when a group first commits: now both have it.
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": topic, **QUIET})
    try:
        consumer.commit(offsets=[TopicPartition(topic, 0, 0)], asynchronous=False)
    finally:
        consumer.close()
    user = "__" + topic  # a user's topic may start with "__" and is not internal
    create_topic(cluster, user)
    run.labels[user] = "__topic"
    before = watermarks(cluster, topic)

    def batch(**change: int) -> bytes:
        b = record_batch([b"a", b"b"])
        for field, value in change.items():
            at, fmt = HEADER_FIELDS[field]
            struct.pack_into(fmt, b, at, value)
        return bytes(b) if change.keys() == {"base_offset"} else _recrc(b)

    def marked(codec: int, payload: bytes | None = None) -> bytes:
        b = record_batch([b"a", b"b"])
        b = b[:61] + (b[61:] if payload is None else payload)
        struct.pack_into(">i", b, 8, len(b) - 12)
        struct.pack_into(">h", b, ATTRIBUTES_AT, codec)
        return _recrc(b)

    linked_lz4 = bytes(cramjam.lz4.compress(bytes(record_batch([b"a", b"b"])[61:])))

    m = _m(PRODUCE, 9)
    for label, records, where in (
        ("base offset 100", batch(base_offset=100), topic),
        ("last offset delta 5 for 2 records", batch(last_offset_delta=5), topic),
        ("3 records counted, 2 in the offset range", batch(count=3), topic),
        ("0 records counted", batch(count=0, last_offset_delta=-1), topic),
        ("compression codec 7", batch(attributes=7), topic),
        ("transactional without a transactional id", batch(attributes=0x10), topic),
        ("marked gzip, records not compressed", marked(1), topic),
        ("marked lz4, records not compressed", marked(3), topic),
        ("marked zstd, records not compressed", marked(4), topic),
        ("lz4 with dependent blocks", marked(3, linked_lz4), topic),
        ("to __consumer_offsets", batch(), "__consumer_offsets"),
        ("to a user's __ topic", batch(), user),
    ):
        run(
            f"produce, {label}", PRODUCE, 9, "ProduceRequest",
            transactional_id=None, acks=-1, timeout=datetime.timedelta(seconds=10),
            topic_data=(m.TopicProduceData(name=where, partition_data=(
                m.PartitionProduceData(index=0, records=records),
            )),),
        )  # fmt: skip
    run.out["produce, nothing stored"] = watermarks(cluster, topic) == before
    m = _m(DELETE_RECORDS, 2)
    run(
        "produce, then delete records of __consumer_offsets", DELETE_RECORDS, 2,
        "DeleteRecordsRequest", timeout=datetime.timedelta(seconds=10),
        topics=(m.DeleteRecordsTopic(name="__consumer_offsets", partitions=(
            m.DeleteRecordsPartition(partition_index=0, offset=-1),
        )),),
    )  # fmt: skip


def scenario(cluster: Cluster) -> dict[str, Any]:
    topic = unique_topic("range")
    create_topic(cluster, topic)
    produce(cluster, topic, [{"value": b"x", "partition": 0}] * 3)
    described = _call(
        cluster, METADATA, 12, "MetadataRequest", topics=None, allow_auto_topic_creation=False,
        include_topic_authorized_operations=False,
    )  # fmt: skip
    node = int(described.brokers[0].node_id)
    labels: dict[Any, str] = {topic: "topic", f"broker {node} ": "broker N "}
    labels[f"expected {node}"] = "expected N"
    run = _Run(cluster, labels, "unused")
    _list_offsets(run, topic)
    _fetch(run, topic)
    _create_topics(run, node)
    _create_partitions(run, topic, node)
    _config_values(run, topic)
    _config_resources(run, topic, node)
    _produce(run, topic)
    run.out = {k: _without_messages(v) if _codes_only(k) else v for k, v in run.out.items()}
    return run.out


def test_values_kafka_refuses(clusters: tuple[Cluster, Cluster]) -> None:
    seen = observe(clusters, scenario)
    assert_same(seen)
    assert "error_code=35" in str(seen["odradek"]["list offsets v7 at -4"])
