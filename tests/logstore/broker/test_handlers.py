"""Handler semantics over hand-made frames: acks=0, fetch limits, partitions out of range,
auto-creation, replication factor, DescribeLogDirs sizes, OffsetForLeaderEpoch."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from logstore.broker.build import make
from logstore.protocol import codec
from logstore.records import build_batch
from tests.broker_fixture import BrokerProcess, start_broker
from tests.clients.messages import unique_topic
from tests.logstore.broker.test_bad_input import (
    API_VERSIONS,
    CREATE_TOPICS,
    FETCH,
    METADATA,
    PRODUCE,
    _create,
    _produce,
)
from tests.logstore.broker.wire import Wire, schema

LIST_OFFSETS, DESCRIBE_LOG_DIRS, OFFSET_FOR_LEADER_EPOCH = 2, 35, 23


def _batch(value: bytes = b"v", n: int = 1) -> bytes:
    return build_batch([(b"k", value)] * n, timestamp=int(time.time() * 1000))


def _fetch_many(
    w: Wire, topic: str, partitions: list[int], *, max_bytes: int, part_max: int
) -> Any:
    s = schema(FETCH, 12)
    return w.request(
        FETCH,
        12,
        max_wait=0,
        min_bytes=0,
        max_bytes=max_bytes,
        topics=(
            make(
                s.FetchTopic,
                topic=topic,
                partitions=tuple(
                    make(s.FetchPartition, partition=p, fetch_offset=0,
                         partition_max_bytes=part_max)
                    for p in partitions
                ),
            ),
        ),
        forgotten_topics_data=(),
    ).responses[0].partitions  # fmt: skip


def _metadata(w: Wire, topic: str, allow_create: bool) -> Any:
    s = schema(METADATA, 12)
    return w.request(
        METADATA,
        12,
        topics=(make(s.MetadataRequestTopic, name=topic, topic_id=None),),
        allow_auto_topic_creation=allow_create,
        include_topic_authorized_operations=False,
    ).topics[0]


def test_acks_0_gets_no_answer_and_the_connection_carries_on(shared_broker: BrokerProcess) -> None:
    topic = unique_topic("acks0")
    with Wire(shared_broker.bootstrap) as w:
        assert _create(w, topic) == 0
        s = schema(PRODUCE, 9)
        w.send_request(
            PRODUCE,
            9,
            transactional_id=None,
            acks=0,
            timeout=1000,
            topic_data=(
                make(
                    s.TopicProduceData,
                    name=topic,
                    partition_data=(make(s.PartitionProduceData, index=0, records=_batch()),),
                ),
            ),
        )
        # The next answer on this connection is for the next request, not the produce.
        assert w.request(API_VERSIONS, 0).error_code == 0
        parts = _fetch_many(w, topic, [0], max_bytes=1 << 20, part_max=1 << 20)
        assert parts[0].high_watermark == 1


def test_fetch_byte_limits_and_first_batch_rule(shared_broker: BrokerProcess) -> None:
    topic = unique_topic("limits")
    big = _batch(b"x" * 3000)
    with Wire(shared_broker.bootstrap) as w:
        s = schema(CREATE_TOPICS, 7)
        w.request(
            CREATE_TOPICS,
            7,
            topics=(make(s.CreatableTopic, name=topic, num_partitions=2, replication_factor=1,
                         assignments=(), configs=()),),
            timeout=5000,
            validate_only=False,
        )  # fmt: skip
        for partition in (0, 1):
            for _ in range(3):
                p = schema(PRODUCE, 9)
                w.request(
                    PRODUCE, 9, transactional_id=None, acks=1, timeout=1000,
                    topic_data=(make(p.TopicProduceData, name=topic, partition_data=(
                        make(p.PartitionProduceData, index=partition, records=big),)),),
                )  # fmt: skip
        # A limit smaller than one batch still returns that whole batch (KIP-74)...
        first, second = _fetch_many(w, topic, [0, 1], max_bytes=100, part_max=100)
        assert len(first.records) == len(big)
        # ...but once the response has data, the next partition gets only what is left.
        assert second.records == b""
        # Room left, but less than the next partition's first batch: nothing from it.
        first, second = _fetch_many(
            w, topic, [0, 1], max_bytes=len(big) + len(big) // 2, part_max=1 << 20
        )
        assert len(first.records) == len(big)
        assert second.records == b""
        first, second = _fetch_many(w, topic, [0, 1], max_bytes=1 << 20, part_max=2 * len(big))
        assert len(first.records) == 2 * len(big)
        assert len(second.records) == 2 * len(big)


def test_partition_out_of_range_and_replication_factor(shared_broker: BrokerProcess) -> None:
    topic = unique_topic("range")
    with Wire(shared_broker.bootstrap) as w:
        assert _create(w, topic) == 0
        p = schema(PRODUCE, 9)
        response = w.request(
            PRODUCE, 9, transactional_id=None, acks=1, timeout=1000,
            topic_data=(make(p.TopicProduceData, name=topic, partition_data=(
                make(p.PartitionProduceData, index=7, records=_batch()),)),),
        )  # fmt: skip
        assert response.responses[0].partition_responses[0].error_code == 3
        s = schema(CREATE_TOPICS, 7)
        result = w.request(
            CREATE_TOPICS,
            7,
            topics=(make(s.CreatableTopic, name=unique_topic("rf"), num_partitions=1,
                         replication_factor=3, assignments=(), configs=()),),
            timeout=5000,
            validate_only=False,
        ).topics[0]  # fmt: skip
        assert result.error_code == 38


def test_metadata_auto_creates_only_when_allowed(shared_broker: BrokerProcess) -> None:
    with Wire(shared_broker.bootstrap) as w:
        refused = unique_topic("noauto")
        assert _metadata(w, refused, allow_create=False).error_code == 3
        created = unique_topic("auto")
        topic = _metadata(w, created, allow_create=True)
        assert topic.error_code == 0
        assert len(topic.partitions) == 1
        assert topic.topic_id.int != 0
        again = _metadata(w, created, allow_create=False)
        assert again.topic_id == topic.topic_id  # stable ids


def test_auto_creation_can_be_disabled(tmp_path: Path) -> None:
    b = start_broker(tmp_path / "noauto", args=["--no-auto-create-topics"])
    try:
        with Wire(b.bootstrap) as w:
            assert _metadata(w, "wanted", allow_create=True).error_code == 3
            assert _produce(w, "wanted", _batch()) == 3
    finally:
        b.stop()


def test_describe_log_dirs_reports_real_sizes(shared_broker: BrokerProcess) -> None:
    topic = unique_topic("sizes")
    with Wire(shared_broker.bootstrap) as w:
        assert _create(w, topic) == 0
        assert _produce(w, topic, _batch(b"y" * 500, n=4)) == 0
        s = schema(DESCRIBE_LOG_DIRS, 4)
        result = w.request(
            DESCRIBE_LOG_DIRS,
            4,
            topics=(make(s.DescribableLogDirTopic, topic=topic, partitions=(0,)),),
        ).results[0]
    on_disk = sum(p.stat().st_size for p in (shared_broker.data_dir / f"{topic}-0").glob("*.log"))
    assert result.error_code == 0
    assert Path(result.log_dir) == shared_broker.data_dir.resolve()
    assert result.topics[0].partitions[0].partition_size == on_disk > 2000
    assert result.total_bytes >= result.usable_bytes > 0


def test_offset_for_leader_epoch_and_list_offsets(shared_broker: BrokerProcess) -> None:
    topic = unique_topic("epoch")
    with Wire(shared_broker.bootstrap) as w:
        assert _create(w, topic) == 0
        now = int(time.time() * 1000)
        rising = build_batch([(b"k", b"v")] * 3, timestamps=[now, now + 1, now + 2])
        assert _produce(w, topic, rising) == 0
        s = schema(OFFSET_FOR_LEADER_EPOCH, 4)
        ends = w.request(
            OFFSET_FOR_LEADER_EPOCH,
            4,
            replica_id=-1,
            topics=(make(s.OffsetForLeaderTopic, topic=topic, partitions=(
                make(s.OffsetForLeaderPartition, partition=0, current_leader_epoch=-1,
                     leader_epoch=0),
                make(s.OffsetForLeaderPartition, partition=5, current_leader_epoch=-1,
                     leader_epoch=0),
            )),),
        ).topics[0].partitions  # fmt: skip
        assert (ends[0].error_code, ends[0].leader_epoch, ends[0].end_offset) == (0, 0, 3)
        assert ends[1].error_code == 3
        lo = schema(LIST_OFFSETS, 7)
        # One request per timestamp: a partition asked twice in one is INVALID_REQUEST.
        answers = [
            w.request(
                LIST_OFFSETS,
                7,
                replica_id=-1,
                isolation_level=0,
                topics=(make(lo.ListOffsetsTopic, name=topic, partitions=(
                    make(lo.ListOffsetsPartition, partition_index=0, timestamp=ts),
                )),),
            ).topics[0].partitions[0]
            for ts in (-2, -1, -3)
        ]  # fmt: skip
        assert [a.offset for a in answers] == [0, 3, 2]
        assert {a.leader_epoch for a in answers} == {0}


def test_pipelined_requests_are_appended_and_answered_in_order(
    shared_broker: BrokerProcess,
) -> None:
    topic = unique_topic("pipeline")
    with Wire(shared_broker.bootstrap) as w:
        assert _create(w, topic) == 0
        p = schema(PRODUCE, 9)
        frames = []
        for i in range(200):  # more than the pipeline depth
            request = make(
                codec.request_class(PRODUCE, 9),
                transactional_id=None,
                acks=-1 if i % 2 else 1,
                timeout=5000,
                topic_data=(make(p.TopicProduceData, name=topic, partition_data=(
                    make(p.PartitionProduceData, index=0, records=_batch(b"%d" % i, n=2)),)),),
            )  # fmt: skip
            header = codec.RequestHeader(PRODUCE, 9, 500 + i, "pipe")
            frames.append(codec.encode_request(header, request))
        w.send_raw(b"".join(frames))
        answers = [codec.decode_response(PRODUCE, 9, w.read_frame()) for _ in range(200)]
    assert [cid for cid, _ in answers] == [500 + i for i in range(200)]
    offsets = [r.responses[0].partition_responses[0].base_offset for _, r in answers]
    assert offsets == [2 * i for i in range(200)]
