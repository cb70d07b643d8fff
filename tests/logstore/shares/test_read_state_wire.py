"""ReadShareGroupState (84) on a real broker process: after confluent-kafka's ShareConsumer
accepts, rejects and releases records, the share-partition's persisted state reads back
as Kafka's share coordinator answers it; a share-partition never fetched from has start
offset -1 and no spans; a negative or unknown partition is refused per partition, and
without CLUSTER_ACTION every partition is refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import AcknowledgeType

from logstore.error_codes import (
    CLUSTER_AUTHORIZATION_FAILED,
    INVALID_REQUEST,
    UNKNOWN_TOPIC_OR_PARTITION,
)
from logstore.protocol.api_keys import ApiKey
from tests.broker_fixture import BrokerProcess, start_broker
from tests.clients.group_topics import create_topic
from tests.clients.share_groups import configure_group, consume_until, produce_values
from tests.clients.share_groups import share_consumer as make_consumer
from tests.logstore.broker.wire import Wire, schema

AVAILABLE, ACKNOWLEDGED, ARCHIVED = 0, 2, 4


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    proc = start_broker(tmp_path_factory.mktemp("read-state") / "data")
    try:
        yield proc
    finally:
        proc.stop()


def topic_id(bootstrap: str, topic: str) -> uuid.UUID:
    with Wire(bootstrap) as wire:
        answer = wire.request(
            ApiKey.METADATA, 12, topics=None, allow_auto_topic_creation=False,
            include_topic_authorized_operations=False,
        )  # fmt: skip
    return next(t.topic_id for t in answer.topics if t.name == topic)


def read_state(bootstrap: str, group: str, tid: uuid.UUID, *partitions: int) -> list[Any]:
    s = schema(ApiKey.READ_SHARE_GROUP_STATE, 0)
    with Wire(bootstrap) as wire:
        answer = wire.request(
            ApiKey.READ_SHARE_GROUP_STATE, 0, group_id=group,
            topics=(s.ReadStateData(topic_id=tid, partitions=tuple(
                s.PartitionData(partition=p, leader_epoch=-1) for p in partitions)),),
        )  # fmt: skip
    (result,) = answer.results
    assert result.topic_id == tid
    return list(result.partitions)


def spans(part: Any) -> list[tuple[int, int, int, int]]:
    return [
        (b.first_offset, b.last_offset, b.delivery_state, b.delivery_count)
        for b in part.state_batches
    ]


def test_the_persisted_state_reads_back_span_by_span(broker: BrokerProcess) -> None:
    bs = broker.bootstrap
    topic = create_topic(bs, 2)
    group = configure_group(bs)
    produce_values(bs, topic, range(0, 20, 2), 2)  # partition 0 only: values 0, 2, ... 18
    tid = topic_id(bs, topic)
    (before,) = read_state(bs, group, tid, 0)
    assert (before.error_code, before.start_offset, spans(before)) == (0, -1, [])

    def decide(msg: Any) -> AcknowledgeType:
        offset = msg.offset()
        if offset == 0:
            return AcknowledgeType.RELEASE
        return AcknowledgeType.REJECT if offset == 4 else AcknowledgeType.ACCEPT

    consumer = make_consumer(bs, group, topic)
    try:
        consume_until([consumer], decide, lambda s: {m.offset() for m in s} >= set(range(10)))
    finally:
        consumer.close()

    p0, p1 = read_state(bs, group, tid, 0, 1)
    assert (p0.error_code, p0.error_message, p0.start_offset) == (0, None, 0)
    first, *rest = spans(p0)
    assert first[:3] == (0, 0, AVAILABLE)
    assert first[3] >= 1  # released each time it came back before the others arrived
    assert rest == [(1, 3, ACKNOWLEDGED, 1), (4, 4, ARCHIVED, 1), (5, 9, ACKNOWLEDGED, 1)]
    # Fetched from (the consumer is assigned both partitions) but empty: initialized at 0.
    assert (p1.error_code, p1.start_offset, spans(p1)) == (0, 0, [])


def test_bad_partitions_are_refused_one_by_one(broker: BrokerProcess) -> None:
    bs = broker.bootstrap
    topic = create_topic(bs, 1)
    tid = topic_id(bs, topic)
    negative, unknown, fine = read_state(bs, "any-group", tid, -1, 5, 0)
    assert (negative.error_code, negative.partition) == (INVALID_REQUEST, -1)
    assert unknown.error_code == UNKNOWN_TOPIC_OR_PARTITION
    assert fine.error_code == 0
    (no_topic,) = read_state(bs, "any-group", uuid.uuid4(), 0)
    assert no_topic.error_code == UNKNOWN_TOPIC_OR_PARTITION


def test_without_cluster_action_every_partition_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "server.properties"
    config.write_text(
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer\n"
        "allow.everyone.if.no.acl.found=false\n"
    )
    proc = start_broker(tmp_path / "data", ["--config", str(config)])
    try:
        refused = read_state(proc.bootstrap, "g", uuid.uuid4(), 0, 1)
        assert [p.error_code for p in refused] == [CLUSTER_AUTHORIZATION_FAILED] * 2
    finally:
        proc.stop()
