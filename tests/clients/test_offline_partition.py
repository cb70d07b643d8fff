"""A partition taken offline by damage below its recovery point, seen from the wire and
from real clients (see `offline.py` for how the damage is made).

Every request that names the partition is answered at once with KAFKA_STORAGE_ERROR (56)
(Produce at acks 1 and all, Fetch even with a long max_wait, ListOffsets, DeleteRecords);
acks=0 writes nothing. Metadata shows it as Kafka shows an offline partition: no leader,
LEADER_NOT_AVAILABLE (5), this broker among its offline replicas, so clients route keyless
records elsewhere. Offsets committed for it are a group's business and keep working, as in
Kafka. The other partition of the topic and other topics keep working, the broker log
says which partition is offline and why, and the damaged bytes are left on disk.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import kafka
import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec
from kio.schema.delete_records.v2.request import (
    DeleteRecordsPartition,
    DeleteRecordsRequest,
    DeleteRecordsTopic,
)
from kio.schema.fetch.v12.request import FetchPartition, FetchRequest, FetchTopic
from kio.schema.list_offsets.v7.request import (
    ListOffsetsPartition,
    ListOffsetsRequest,
    ListOffsetsTopic,
)
from kio.schema.metadata.v12.request import MetadataRequest, MetadataRequestTopic
from kio.schema.offset_commit.v8.request import (
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
)
from kio.schema.offset_fetch.v7.request import OffsetFetchRequest, OffsetFetchRequestTopic
from kio.schema.produce.v9.request import PartitionProduceData, ProduceRequest, TopicProduceData

from logstore.broker.build import make
from logstore.protocol import codec
from logstore.protocol.api_keys import ApiKey
from logstore.records import build_batch
from tests.broker_fixture import BrokerProcess, start_broker
from tests.clients.offline import DAMAGED, HEALTHY, RECORDS, Wire, make_damaged

KAFKA_STORAGE_ERROR = 56
LEADER_NOT_AVAILABLE = 5
PROMPT_S = 3.0  # "at once": far below max_wait (10 s) and every client timeout


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BrokerProcess, Path]]:
    broker = start_broker(tmp_path_factory.mktemp("offline") / "data")
    try:
        path = make_damaged(broker)
        yield broker, path
    finally:
        if broker.running:
            broker.stop()


@pytest.fixture
def wire(damaged: tuple[BrokerProcess, Path]) -> Iterator[Wire]:
    client = Wire(damaged[0].bootstrap)
    yield client
    client.close()


def timed(fn):  # type: ignore[no-untyped-def]
    start = time.monotonic()
    result = fn()
    elapsed = time.monotonic() - start
    assert elapsed < PROMPT_S, f"took {elapsed:.2f} s"
    return result


def produce_request(acks: int, partition: int) -> ProduceRequest:
    batch = build_batch([(None, b"after the damage")], timestamp=int(time.time() * 1000))
    return make(
        ProduceRequest,
        transactional_id=None,
        acks=acks,
        timeout=30_000,
        topic_data=(
            make(
                TopicProduceData,
                name=DAMAGED,
                partition_data=(make(PartitionProduceData, index=partition, records=batch),),
            ),
        ),
    )


def list_offsets(wire: Wire, partition: int, timestamp: int) -> tuple[int, int]:
    request = make(
        ListOffsetsRequest,
        replica_id=-1,
        isolation_level=0,
        topics=(
            make(
                ListOffsetsTopic,
                name=DAMAGED,
                partitions=(
                    make(
                        ListOffsetsPartition,
                        partition_index=partition,
                        current_leader_epoch=-1,
                        timestamp=timestamp,
                    ),
                ),
            ),
        ),
    )
    row = timed(lambda: wire.call(ApiKey.LIST_OFFSETS, 7, request)).topics[0].partitions[0]
    return row.error_code, row.offset


def test_the_broker_log_says_which_partition_is_offline_and_why(damaged) -> None:
    broker, path = damaged
    lines = [line for line in broker.log_path.read_text().splitlines() if "is offline" in line]
    assert len(lines) == 1, lines
    assert " ERROR logstore.storage.recovery: partition damaged-0 is offline" in lines[0]
    assert "corrupt data below the recovery point" in lines[0]
    assert path.name in lines[0]
    assert "CRC" in lines[0]
    # Nothing was truncated: the damaged segment and everything after it are still there.
    assert path.exists()
    assert "truncated" not in broker.log_path.read_text()


@pytest.mark.parametrize("acks", [1, -1])
def test_produce_is_refused_at_once(wire: Wire, acks: int) -> None:
    response = timed(lambda: wire.call(ApiKey.PRODUCE, 9, produce_request(acks, 0)))
    row = response.responses[0].partition_responses[0]
    assert row.error_code == KAFKA_STORAGE_ERROR
    assert "recovery point" in (row.error_message or "")
    # The same request for the healthy partition of the same topic is appended.
    ok = wire.call(ApiKey.PRODUCE, 9, produce_request(acks, 1))
    assert ok.responses[0].partition_responses[0].error_code == 0


def test_acks_0_writes_nothing(wire: Wire) -> None:
    wire.send(ApiKey.PRODUCE, 9, produce_request(0, 0))  # no answer at acks=0
    # The connection still serves at once, and the offline partition got nothing.
    assert list_offsets(wire, 0, -1) == (KAFKA_STORAGE_ERROR, -1)
    assert list_offsets(wire, 1, -1)[0] == 0


def test_fetch_is_answered_at_once_not_after_max_wait(wire: Wire) -> None:
    request = make(
        FetchRequest,
        cluster_id=None,
        replica_id=-1,
        max_wait=10_000,
        min_bytes=1,
        max_bytes=1 << 20,
        isolation_level=0,
        session_id=0,
        session_epoch=-1,
        topics=(
            make(
                FetchTopic,
                topic=DAMAGED,
                partitions=(
                    make(
                        FetchPartition,
                        partition=0,
                        current_leader_epoch=-1,
                        fetch_offset=0,
                        last_fetched_epoch=-1,
                        log_start_offset=-1,
                        partition_max_bytes=1 << 20,
                    ),
                ),
            ),
        ),
        forgotten_topics_data=(),
        rack_id="",
    )
    response = timed(lambda: wire.call(ApiKey.FETCH, 12, request))
    row = response.responses[0].partitions[0]
    assert row.error_code == KAFKA_STORAGE_ERROR
    assert not row.records


@pytest.mark.parametrize("timestamp", [-1, -2, -3, 0])
def test_list_offsets_is_refused(wire: Wire, timestamp: int) -> None:
    assert list_offsets(wire, 0, timestamp) == (KAFKA_STORAGE_ERROR, -1)


def test_delete_records_is_refused(wire: Wire) -> None:
    request = make(
        DeleteRecordsRequest,
        timeout=30_000,
        topics=(
            make(
                DeleteRecordsTopic,
                name=DAMAGED,
                partitions=(make(DeleteRecordsPartition, partition_index=0, offset=5),),
            ),
        ),
    )
    response = timed(lambda: wire.call(ApiKey.DELETE_RECORDS, 2, request))
    row = response.topics[0].partitions[0]
    assert row.error_code == KAFKA_STORAGE_ERROR
    assert row.low_watermark == -1


def test_metadata_shows_it_leaderless_as_kafka_does(wire: Wire) -> None:
    request = make(
        MetadataRequest,
        topics=(make(MetadataRequestTopic, topic_id=None, name=DAMAGED),),
        allow_auto_topic_creation=False,
        include_topic_authorized_operations=False,
    )
    response = timed(lambda: wire.call(ApiKey.METADATA, 12, request))
    (topic,) = response.topics
    assert topic.error_code == 0
    offline, healthy = sorted(topic.partitions, key=lambda p: p.partition_index)
    node = response.brokers[0].node_id
    assert (offline.error_code, offline.leader_id) == (LEADER_NOT_AVAILABLE, -1)
    assert tuple(offline.offline_replicas) == (node,)
    assert (healthy.error_code, healthy.leader_id) == (0, node)
    assert tuple(healthy.offline_replicas) == ()


def test_offsets_committed_for_it_still_work_as_in_kafka(wire: Wire) -> None:
    # Committed offsets live in __consumer_offsets, not in the damaged log.
    commit = make(
        OffsetCommitRequest,
        group_id="offline-group",
        generation_id_or_member_epoch=-1,
        member_id="",
        group_instance_id=None,
        topics=(
            make(
                OffsetCommitRequestTopic,
                name=DAMAGED,
                partitions=(
                    make(
                        OffsetCommitRequestPartition,
                        partition_index=0,
                        committed_offset=7,
                        committed_leader_epoch=-1,
                        committed_metadata="",
                    ),
                ),
            ),
        ),
    )
    done = timed(lambda: wire.call(ApiKey.OFFSET_COMMIT, 8, commit))
    assert done.topics[0].partitions[0].error_code == 0
    fetch = make(
        OffsetFetchRequest,
        group_id="offline-group",
        topics=(make(OffsetFetchRequestTopic, name=DAMAGED, partition_indexes=(0,)),),
        require_stable=False,
    )
    row = timed(lambda: wire.call(ApiKey.OFFSET_FETCH, 7, fetch)).topics[0].partitions[0]
    assert (row.error_code, row.committed_offset) == (0, 7)


def test_confluent_clients_see_it_offline_and_use_the_rest(damaged) -> None:
    broker, _ = damaged
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    partitions = admin.list_topics(DAMAGED, timeout=5).topics[DAMAGED].partitions
    assert partitions[0].leader == -1
    assert partitions[0].error.code() == KafkaError.LEADER_NOT_AVAILABLE
    assert partitions[1].leader >= 0
    assert partitions[1].error is None
    asked = {TopicPartition(DAMAGED, p): OffsetSpec.latest() for p in (0, 1)}
    answers = timed(lambda: admin.list_offsets(asked, request_timeout=5))
    with pytest.raises(Exception) as info:
        answers[TopicPartition(DAMAGED, 0)].result()
    assert info.value.args[0].code() == KafkaError.LEADER_NOT_AVAILABLE
    assert answers[TopicPartition(DAMAGED, 1)].result().offset >= RECORDS

    # A producer sending to the healthy partition and to another topic is not held up.
    delivered: list[tuple[str, int]] = []
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all"})
    for topic, p in ((DAMAGED, 1), (HEALTHY, 0)):
        producer.produce(topic, b"still here", partition=p, on_delivery=lambda e, m: (
            delivered.append((m.topic(), m.partition())) if e is None else None
        ))  # fmt: skip
    assert timed(lambda: producer.flush(5)) == 0
    assert sorted(delivered) == [(DAMAGED, 1), (HEALTHY, 0)]

    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "offline-reader"})
    consumer.assign([TopicPartition(HEALTHY, 0, 0)])
    values = []
    while len(values) < RECORDS:
        msg = consumer.poll(5)
        assert msg is not None, "the healthy topic stopped being served"
        assert msg.error() is None, msg.error()
        values.append(msg.value())
    consumer.close()
    assert values[0] == b"0000" * 10


def test_kafka_python_sees_no_leader_and_uses_the_rest(damaged) -> None:
    broker, _ = damaged
    producer = kafka.KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    try:
        sent = producer.send(DAMAGED, b"kafka-python", partition=1).get(10)
        assert sent.partition == 1
        assert sent.offset >= RECORDS
        cluster = producer._metadata  # the client's view of the Metadata answer
        assert cluster.leader_for_partition(kafka.TopicPartition(DAMAGED, 0)) == -1
        assert cluster.leader_for_partition(kafka.TopicPartition(DAMAGED, 1)) == 0
    finally:
        producer.close(5)


@pytest.mark.parametrize("version", range(13))
def test_metadata_every_version_shows_it_leaderless(wire: Wire, version: int) -> None:
    cls = codec.request_class(ApiKey.METADATA, version)
    assert cls is not None
    request = make(
        cls,
        topics=() if version == 0 else None,  # every topic
        allow_auto_topic_creation=False,
        include_cluster_authorized_operations=False,
        include_topic_authorized_operations=False,
    )
    response = wire.call(ApiKey.METADATA, version, request)
    node = response.brokers[0].node_id
    topics = {t.name: t for t in response.topics}
    rows = {p.partition_index: p for p in topics[DAMAGED].partitions}
    assert (rows[0].error_code, rows[0].leader_id) == (LEADER_NOT_AVAILABLE, -1)
    assert (rows[1].error_code, rows[1].leader_id) == (0, node)
    assert all(p.leader_id == node for p in topics[HEALTHY].partitions)
    if version >= 5:
        assert tuple(rows[0].offline_replicas) == (node,)


def test_no_leader_can_be_elected_for_it(wire: Wire) -> None:
    """A one-broker Kafka whose only replica of a partition is offline: ElectLeaders finds
    no replica to lead it (preferred: PREFERRED_LEADER_NOT_AVAILABLE 80, unclean:
    ELIGIBLE_LEADERS_NOT_AVAILABLE 83), while its healthy partition needs no election (84);
    an election over every partition lists only the offline one."""
    from kio.schema.elect_leaders.v2.request import ElectLeadersRequest, TopicPartitions

    asked = (TopicPartitions(topic=DAMAGED, partitions=(0, 1)),)
    for election, offline in ((0, 80), (1, 83)):
        request = ElectLeadersRequest(election_type=election, topic_partitions=asked)
        (topic,) = wire.call(ApiKey.ELECT_LEADERS, 2, request).replica_election_results
        assert [(p.partition_id, int(p.error_code)) for p in topic.partition_result] == [
            (0, offline),
            (1, 84),
        ]
    every = ElectLeadersRequest(election_type=0, topic_partitions=None)
    listed = {
        (t.topic, p.partition_id, int(p.error_code))
        for t in wire.call(ApiKey.ELECT_LEADERS, 2, every).replica_election_results
        for p in t.partition_result
    }
    assert listed == {(DAMAGED, 0, 80)}
