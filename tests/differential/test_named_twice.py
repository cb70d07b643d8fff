"""Differential: a request that names the same partition, topic, resource or group twice.

Kafka keys most requests by what they name, so a repeat collapses: Produce appends only
the last batch given for a partition and answers it once, Fetch and DeleteRecords act on
the last entry once, DeleteGroups deletes once. Others refuse the repeat: ListOffsets
answers the partition once with INVALID_REQUEST; CreateTopics and CreatePartitions leave a
twice-named topic alone and answer it once ("Duplicate topic name."); AlterConfigs and
IncrementalAlterConfigs refuse a resource named twice or a config named twice in one
resource, changing nothing. DescribeLogDirs and DescribeShareGroupOffsets list a partition
once; AlterShareGroupOffsets answers a twice-named topic as one. Raw requests on fresh
connections; answers keep names (as labels), error codes and offsets, every list compared
as a set (Kafka's order comes from hash maps), and the data each request left behind.
"""

from __future__ import annotations

import dataclasses
import datetime
import time
import uuid
from typing import Any

import pytest
from kio.index import load_payload_module
from kio.static.constants import EntityType

from logstore.protocol import codec
from tests.clusters import Cluster
from tests.differential.harness import (
    assert_same,
    create_topic,
    observe,
    produce,
    read_partition,
    unique_topic,
    watermarks,
)
from tests.differential.test_share_groups import _response_cls, wait_coordinator
from tests.differential.wire import decode, encode, exchange, frame, record_batch

pytestmark = pytest.mark.kafka

PRODUCE, FETCH, LIST_OFFSETS, COMMIT, FIND_COORDINATOR = 0, 1, 2, 8, 10
CREATE_TOPICS, DELETE_RECORDS, ALTER_CONFIGS, DESCRIBE_CONFIGS = 19, 21, 33, 32
CREATE_PARTITIONS, DELETE_GROUPS, INCREMENTAL_ALTER_CONFIGS = 37, 42, 44
DESCRIBE_LOG_DIRS, CONSUMER_GROUP_DESCRIBE = 35, 69
DESCRIBE_SHARE_OFFSETS, ALTER_SHARE_OFFSETS = 90, 91
TOPIC_RESOURCE = 2
NOT_READY = {"error_code=14", "error_code=15", "error_code=16"}
# What an answer is compared by: where each name and error code sits.
KEPT = {"name", "topic", "partition_index", "index", "resource_name", "group_id"}
KEPT |= {"error_code", "error_message", "low_watermark", "base_offset", "topic_name"}
KEPT |= {"start_offset"}


def _shown(value: Any, labels: dict[Any, str]) -> Any:
    """A value with the run's names replaced by their labels, in messages too."""
    if isinstance(value, int):
        return int(value)
    if not isinstance(value, str):
        return labels.get(value, value)
    for name in sorted((n for n in labels if isinstance(n, str)), key=len, reverse=True):
        value = value.replace(name, labels[name])
    return value


def _flat(obj: Any, labels: dict[Any, str]) -> list[Any]:
    """What `obj` says, every list read as a set: Kafka keys these requests by hash maps,
    so the order of its topics and partitions is no promise."""
    out: list[Any] = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, tuple) and f.name != "configs":
            # (A created topic's configs are left out: which exist differs between versions.)
            entries = [_flat(v, labels) if dataclasses.is_dataclass(v) else v for v in value]
            out.append((f.name, sorted(entries, key=repr)))
        elif f.name in KEPT:
            out.append(f"{f.name}={_shown(value, labels)}")
    return out


def _call(cluster: Cluster, api: int, version: int, entity: str, **fields: Any) -> Any:
    request = getattr(load_payload_module(api, version, EntityType.request), entity)(**fields)
    flexible = codec.request_header_is_flexible(api, version)
    reply = exchange(cluster.bootstrap, frame(api, version, 1, encode(request), flexible))
    assert isinstance(reply, bytes), reply
    return decode(_response_cls(api, version), reply[5:] if flexible else reply[4:])


def _m(api: int, version: int) -> Any:
    return load_payload_module(api, version, EntityType.request)


def _codes(seen: Any) -> list[str]:
    if isinstance(seen, str):
        return [seen]
    if isinstance(seen, tuple):
        return [c for entry in seen[1] for c in _codes(entry)]
    return [c for item in seen for c in _codes(item)] if isinstance(seen, list) else []


class _Run:
    def __init__(self, cluster: Cluster, labels: dict[Any, str], group: str) -> None:
        self.cluster, self.labels, self.group = cluster, labels, group
        self.out: dict[str, Any] = {}

    def __call__(self, label: str, api: int, version: int, entity: str, **fields: Any) -> None:
        deadline = time.monotonic() + 30
        while True:
            reply = _call(self.cluster, api, version, entity, **fields)
            if not NOT_READY & set(_codes(_flat(reply, self.labels))):
                break
            # Kafka makes __consumer_offsets at the first FindCoordinator, then loads it.
            assert time.monotonic() < deadline, f"the coordinator never answered: {reply}"
            _call(
                self.cluster, FIND_COORDINATOR, 4, "FindCoordinatorRequest",
                key_type=0, coordinator_keys=(self.group,),
            )  # fmt: skip
            time.sleep(0.2)  # polling the reference's readiness, not waiting for time
        self.out[label] = _flat(reply, self.labels)


def _records(cluster: Cluster, topic: str) -> list[bytes]:
    records, errors = read_partition(cluster, topic, 0, 0, 20)
    assert not errors, errors
    return [r[3] for r in records]


def _until_led(cluster: Cluster, topic: str, partitions: int) -> None:
    """Until each partition of a new topic answers as its leader: Kafka lists a new topic
    before its broker leads it, and a Produce meanwhile is NOT_LEADER_OR_FOLLOWER (one
    that cannot be retried here, since the rest of the request was appended)."""
    m = _m(LIST_OFFSETS, 7)
    asked = tuple(
        m.ListOffsetsPartition(partition_index=p, current_leader_epoch=-1, timestamp=-1)
        for p in range(partitions)
    )
    deadline = time.monotonic() + 30
    while True:
        reply = _call(cluster, LIST_OFFSETS, 7, "ListOffsetsRequest", replica_id=-1,
                      isolation_level=0, topics=(m.ListOffsetsTopic(name=topic, partitions=asked),))  # fmt: skip
        if all(p.error_code == 0 for t in reply.topics for p in t.partitions):
            return
        assert time.monotonic() < deadline, f"{topic} never had a leader: {reply}"
        time.sleep(0.2)  # polling the reference's readiness, not waiting for time


def _data_scenario(run: _Run, one: str, two: str) -> None:
    cluster = run.cluster
    produce(cluster, one, [{"value": b"x", "partition": 0}] * 3)
    _until_led(cluster, two, 2)
    m = _m(PRODUCE, 9)
    run(
        "produce, one partition twice", PRODUCE, 9, "ProduceRequest",
        transactional_id=None, acks=-1, timeout=datetime.timedelta(seconds=10),
        topic_data=(
            m.TopicProduceData(name=one, partition_data=(
                m.PartitionProduceData(index=0, records=record_batch([b"a"])),
                m.PartitionProduceData(index=0, records=record_batch([b"b", b"c"])),
            )),
            m.TopicProduceData(name=two, partition_data=(
                m.PartitionProduceData(index=1, records=record_batch([b"d"])),
            )),
            m.TopicProduceData(name=one, partition_data=(
                m.PartitionProduceData(index=0, records=record_batch([b"e"])),
            )),
        ),
    )  # fmt: skip
    run.out["stored"] = (_records(cluster, one), watermarks(cluster, two, 1))
    m = _m(FETCH, 12)

    def fetch_partition(offset: int) -> Any:
        return m.FetchPartition(
            partition=0, current_leader_epoch=-1, fetch_offset=offset, last_fetched_epoch=-1,
            log_start_offset=-1, partition_max_bytes=1 << 20,
        )  # fmt: skip

    run(
        "fetch, one partition twice", FETCH, 12, "FetchRequest",
        cluster_id=None, replica_id=-1, max_wait=datetime.timedelta(milliseconds=10),
        min_bytes=0, max_bytes=1 << 20, isolation_level=0, session_id=0, session_epoch=-1,
        topics=(
            m.FetchTopic(topic=one, partitions=(fetch_partition(0), fetch_partition(99))),
            m.FetchTopic(topic=one, partitions=(fetch_partition(3),)),
        ),
        forgotten_topics_data=(), rack_id="",
    )  # fmt: skip
    m = _m(LIST_OFFSETS, 7)

    def list_partition(index: int) -> Any:
        return m.ListOffsetsPartition(partition_index=index, current_leader_epoch=-1, timestamp=-1)

    run(
        "list offsets, one partition twice", LIST_OFFSETS, 7, "ListOffsetsRequest",
        replica_id=-1, isolation_level=0,
        topics=(
            m.ListOffsetsTopic(name=one, partitions=(list_partition(0),)),
            m.ListOffsetsTopic(name=two, partitions=(list_partition(0), list_partition(1))),
            m.ListOffsetsTopic(name=one, partitions=(list_partition(0),)),
        ),
    )  # fmt: skip
    m = _m(DELETE_RECORDS, 2)
    run(
        "delete records, one partition twice", DELETE_RECORDS, 2, "DeleteRecordsRequest",
        topics=(
            m.DeleteRecordsTopic(name=one, partitions=(
                m.DeleteRecordsPartition(partition_index=0, offset=1),
                m.DeleteRecordsPartition(partition_index=0, offset=2),
            )),
        ),
        timeout=datetime.timedelta(seconds=10),
    )  # fmt: skip
    run.out["watermarks after"] = watermarks(cluster, one, 0)


def _admin_scenario(run: _Run, one: str, two: str, new: str) -> None:
    cluster = run.cluster
    m = _m(CREATE_TOPICS, 7)

    def creatable(name: str) -> Any:
        return m.CreatableTopic(
            name=name, num_partitions=1, replication_factor=1, assignments=(), configs=()
        )

    other = new + "-other"
    run.labels[other] = "other new"
    run(
        "create topics, one twice", CREATE_TOPICS, 7, "CreateTopicsRequest",
        topics=(creatable(new), creatable(other), creatable(new)),
        timeout=datetime.timedelta(seconds=10), validate_only=True,
    )  # fmt: skip
    m = _m(CREATE_PARTITIONS, 3)
    run(
        "create partitions, one twice", CREATE_PARTITIONS, 3, "CreatePartitionsRequest",
        topics=(
            m.CreatePartitionsTopic(name=two, count=3, assignments=None),
            m.CreatePartitionsTopic(name=one, count=2, assignments=None),
            m.CreatePartitionsTopic(name=two, count=4, assignments=None),
        ),
        timeout=datetime.timedelta(seconds=10), validate_only=False,
    )  # fmt: skip
    m = _m(INCREMENTAL_ALTER_CONFIGS, 1)

    def resource(name: str, *values: str) -> Any:
        return m.AlterConfigsResource(
            resource_type=TOPIC_RESOURCE, resource_name=name,
            configs=tuple(
                m.AlterableConfig(name="retention.ms", config_operation=0, value=v)
                for v in values
            ),
        )  # fmt: skip

    run(
        "incremental alter, a resource twice", INCREMENTAL_ALTER_CONFIGS, 1,
        "IncrementalAlterConfigsRequest",
        resources=(resource(one, "1000001"), resource(two, "1000002"), resource(one, "1000003")),
        validate_only=False,
    )  # fmt: skip
    run(
        "incremental alter, a key twice", INCREMENTAL_ALTER_CONFIGS, 1,
        "IncrementalAlterConfigsRequest",
        resources=(resource(one, "1000004", "1000005"),), validate_only=False,
    )  # fmt: skip
    m = _m(ALTER_CONFIGS, 2)
    run(
        "alter, a key twice", ALTER_CONFIGS, 2, "AlterConfigsRequest",
        resources=(
            m.AlterConfigsResource(resource_type=TOPIC_RESOURCE, resource_name=one, configs=(
                m.AlterableConfig(name="retention.ms", value="1000006"),
                m.AlterableConfig(name="retention.ms", value="1000007"),
            )),
        ),
        validate_only=False,
    )  # fmt: skip
    m = _m(DESCRIBE_CONFIGS, 4)
    described = _call(
        cluster, DESCRIBE_CONFIGS, 4, "DescribeConfigsRequest",
        resources=tuple(
            m.DescribeConfigsResource(
                resource_type=TOPIC_RESOURCE, resource_name=name, configuration_keys=("retention.ms",)
            )
            for name in (one, two)
        ),
        include_synonyms=False, include_documentation=False,
    )  # fmt: skip
    run.out["retention.ms after"] = [r.configs[0].value for r in described.results]


def _commit(run: _Run, label: str, one: str) -> None:
    m = _m(COMMIT, 8)
    run(
        label, COMMIT, 8, "OffsetCommitRequest",
        group_id=run.group, generation_id_or_member_epoch=-1, member_id="",
        group_instance_id=None,
        topics=(m.OffsetCommitRequestTopic(name=one, partitions=(
            m.OffsetCommitRequestPartition(
                partition_index=0, committed_offset=1, committed_leader_epoch=-1,
                committed_metadata="",
            ),
        )),),
    )  # fmt: skip


def _groups_scenario(run: _Run, one: str) -> None:
    _commit(run, "commit", one)
    run("delete groups, one twice", DELETE_GROUPS, 2, "DeleteGroupsRequest",
        groups_names=(run.group, run.group))  # fmt: skip


def _describe_scenario(run: _Run, one: str, two: str) -> None:
    m = _m(DESCRIBE_LOG_DIRS, 4)
    run(
        "describe log dirs, a partition twice", DESCRIBE_LOG_DIRS, 4, "DescribeLogDirsRequest",
        topics=(
            m.DescribableLogDirTopic(topic=one, partitions=(0, 0)),
            m.DescribableLogDirTopic(topic=two, partitions=(1,)),
            m.DescribableLogDirTopic(topic=one, partitions=(0,)),
        ),
    )  # fmt: skip
    # Whether a group is unknown or of another kind shows in the message.
    _commit(run, "commit again", one)
    never = f"diff-never-{uuid.uuid4().hex[:8]}"
    run.labels[never] = "never"
    run(
        "consumer group describe, a group twice", CONSUMER_GROUP_DESCRIBE, 0,
        "ConsumerGroupDescribeRequest", group_ids=(never, run.group, never),
        include_authorized_operations=False,
    )  # fmt: skip
    share = f"diff-twice-share-{uuid.uuid4().hex[:8]}"
    run.labels[share] = "share group"
    wait_coordinator(run.cluster, share)
    m = _m(ALTER_SHARE_OFFSETS, 0)

    def start(topic: str, *offsets: tuple[int, int]) -> Any:
        return m.AlterShareGroupOffsetsRequestTopic(
            topic_name=topic,
            partitions=tuple(
                m.AlterShareGroupOffsetsRequestPartition(partition_index=i, start_offset=o)
                for i, o in offsets
            ),
        )

    run(
        "alter share offsets, a topic twice", ALTER_SHARE_OFFSETS, 0,
        "AlterShareGroupOffsetsRequest", group_id=share,
        topics=(start(two, (0, 0)), start(one, (0, 1)), start(two, (1, 0))),
    )  # fmt: skip
    m = _m(DESCRIBE_SHARE_OFFSETS, 1)
    run(
        "describe share offsets, a partition twice", DESCRIBE_SHARE_OFFSETS, 1,
        "DescribeShareGroupOffsetsRequest",
        groups=(
            m.DescribeShareGroupOffsetsRequestGroup(group_id=share, topics=(
                m.DescribeShareGroupOffsetsRequestTopic(topic_name=one, partitions=(0, 0)),
                m.DescribeShareGroupOffsetsRequestTopic(topic_name=one, partitions=(0,)),
            )),
        ),
    )  # fmt: skip


def scenario(cluster: Cluster) -> dict[str, Any]:
    one, two, new = unique_topic("twice-one"), unique_topic("twice-two"), unique_topic("twice")
    create_topic(cluster, one)
    create_topic(cluster, two, partitions=2)
    group = f"diff-twice-{uuid.uuid4().hex[:8]}"
    run = _Run(cluster, {one: "one", two: "two", new: "new", group: "group"}, group)
    _data_scenario(run, one, two)
    _admin_scenario(run, one, two, new)
    _groups_scenario(run, one)
    _describe_scenario(run, one, two)
    return run.out


def test_a_request_naming_something_twice(clusters: tuple[Cluster, Cluster]) -> None:
    seen = observe(clusters, scenario)
    assert_same(seen)
    assert seen["odradek"]["stored"][0] == [b"x", b"x", b"x", b"e"]
