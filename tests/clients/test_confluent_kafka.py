"""confluent-kafka (librdkafka) against a real broker: codecs, keys, headers, timestamps,
offsets by timestamp, delete records, delete topic, and the AdminClient."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import (
    TIMESTAMP_CREATE_TIME,
    Consumer,
    KafkaException,
    Producer,
    TopicCollection,
    TopicPartition,
)
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    OffsetSpec,
)

from tests.clients.messages import CODECS, Sample, samples, unique_topic

TIMEOUT = 15.0


def _admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap})


def _create(admin: AdminClient, topic: str, partitions: int = 1, **configs: str) -> None:
    futures = admin.create_topics([NewTopic(topic, partitions, 1, config=configs)])
    futures[topic].result(TIMEOUT)


def _produce(bootstrap: str, topic: str, batch: list[Sample], **conf: str) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, **conf})
    errors: list[object] = []
    for s in batch:
        producer.produce(
            topic,
            key=s.key,
            value=s.value,
            headers=list(s.headers),
            timestamp=s.timestamp,
            partition=0,
            on_delivery=lambda err, _msg: errors.append(err) if err else None,
        )
    assert producer.flush(TIMEOUT) == 0
    assert errors == []


def _consume(bootstrap: str, topic: str, n: int, start: int = 0) -> list:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": unique_topic("g"), "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topic, 0, start)])
    got = []
    deadline = time.monotonic() + TIMEOUT
    try:
        while len(got) < n and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            got.append(msg)
    finally:
        consumer.close()
    return got


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("acks", ["1", "all"])
def test_round_trip_every_codec(shared_broker, codec: str, acks: str) -> None:
    topic = unique_topic(f"ck-{codec}")
    _create(_admin(shared_broker.bootstrap), topic)
    batch = samples(20)
    _produce(shared_broker.bootstrap, topic, batch, **{"compression.type": codec, "acks": acks})
    got = _consume(shared_broker.bootstrap, topic, len(batch))
    assert [m.offset() for m in got] == list(range(len(batch)))
    assert [m.key() for m in got] == [s.key for s in batch]
    assert [m.value() for m in got] == [s.value for s in batch]
    assert [tuple(m.headers()) for m in got] == [s.headers for s in batch]
    assert [m.timestamp() for m in got] == [(TIMESTAMP_CREATE_TIME, s.timestamp) for s in batch]


def test_offsets_by_timestamp_delete_records_and_delete_topic(shared_broker) -> None:
    admin = _admin(shared_broker.bootstrap)
    topic = unique_topic("ck-life")
    _create(admin, topic)
    batch = samples(10)
    _produce(shared_broker.bootstrap, topic, batch, **{"linger.ms": "0", "batch.num.messages": "1"})

    consumer = Consumer({"bootstrap.servers": shared_broker.bootstrap, "group.id": "unused"})
    try:
        found = consumer.offsets_for_times([TopicPartition(topic, 0, batch[6].timestamp)], TIMEOUT)
        assert found[0].offset == 6
        past_end = consumer.offsets_for_times(
            [TopicPartition(topic, 0, batch[-1].timestamp + 1)], TIMEOUT
        )
        assert past_end[0].offset == -1
        assert consumer.get_watermark_offsets(TopicPartition(topic, 0), TIMEOUT) == (0, 10)
    finally:
        consumer.close()

    result = admin.delete_records([TopicPartition(topic, 0, 4)])
    deleted = next(iter(result.values())).result(TIMEOUT)
    assert deleted.low_watermark == 4
    got = _consume(shared_broker.bootstrap, topic, 6, start=4)
    assert [m.offset() for m in got] == [4, 5, 6, 7, 8, 9]

    admin.delete_topics([topic])[topic].result(TIMEOUT)
    assert topic not in admin.list_topics(timeout=TIMEOUT).topics


def test_admin_client_topics_configs_offsets_cluster(shared_broker) -> None:
    admin = _admin(shared_broker.bootstrap)
    topic = unique_topic("ck-admin")

    # validate_only creates nothing.
    admin.create_topics([NewTopic(topic, 2, 1)], validate_only=True)[topic].result(TIMEOUT)
    assert topic not in admin.list_topics(timeout=TIMEOUT).topics

    _create(admin, topic, 2, **{"retention.ms": "3600000"})
    meta = admin.list_topics(topic, timeout=TIMEOUT).topics[topic]
    assert sorted(meta.partitions) == [0, 1]
    assert meta.partitions[0].leader == 0

    with pytest.raises(KafkaException) as err:
        admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(TIMEOUT)
    assert err.value.args[0].code() == 36  # TOPIC_ALREADY_EXISTS

    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    configs = admin.describe_configs([resource])[resource].result(TIMEOUT)
    assert configs["retention.ms"].value == "3600000"
    assert configs["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert configs["cleanup.policy"].value == "delete"
    assert configs["cleanup.policy"].source == ConfigSource.DEFAULT_CONFIG.value

    change = ConfigResource(
        ConfigResource.Type.TOPIC,
        topic,
        incremental_configs=[
            ConfigEntry("retention.ms", "7200000", incremental_operation=AlterConfigOpType.SET),
            ConfigEntry("max.message.bytes", "", incremental_operation=AlterConfigOpType.DELETE),
        ],
    )
    admin.incremental_alter_configs([change])[change].result(TIMEOUT)
    configs = admin.describe_configs([resource])[resource].result(TIMEOUT)
    assert configs["retention.ms"].value == "7200000"

    dry = ConfigResource(
        ConfigResource.Type.TOPIC,
        topic,
        incremental_configs=[
            ConfigEntry("retention.ms", "1000", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    admin.incremental_alter_configs([dry], validate_only=True)[dry].result(TIMEOUT)
    assert admin.describe_configs([resource])[resource].result(TIMEOUT)["retention.ms"].value == (
        "7200000"
    )

    bad = ConfigResource(
        ConfigResource.Type.TOPIC,
        topic,
        incremental_configs=[
            ConfigEntry("retention.ms", "soon", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    with pytest.raises(KafkaException) as err:
        admin.incremental_alter_configs([bad])[bad].result(TIMEOUT)
    assert err.value.args[0].code() == 40  # INVALID_CONFIG
    with pytest.raises(KafkaException) as err:
        admin.incremental_alter_configs([bad], validate_only=True)[bad].result(TIMEOUT)
    assert err.value.args[0].code() == 40

    # Legacy AlterConfigs replaces the whole override set.
    whole = ConfigResource(ConfigResource.Type.TOPIC, topic, set_config={"segment.ms": "3600000"})
    admin.alter_configs([whole])[whole].result(TIMEOUT)
    configs = admin.describe_configs([resource])[resource].result(TIMEOUT)
    assert configs["segment.ms"].value == "3600000"
    assert configs["retention.ms"].source == ConfigSource.DEFAULT_CONFIG.value

    admin.create_partitions([NewPartitions(topic, 3)])[topic].result(TIMEOUT)
    assert len(admin.list_topics(topic, timeout=TIMEOUT).topics[topic].partitions) == 3

    batch = samples(5)
    _produce(shared_broker.bootstrap, topic, batch)
    tp = TopicPartition(topic, 0)
    specs = {
        "earliest": OffsetSpec.earliest(),
        "latest": OffsetSpec.latest(),
        "max": OffsetSpec.max_timestamp(),
    }
    answers = {
        name: admin.list_offsets({tp: spec})[tp].result(TIMEOUT) for name, spec in specs.items()
    }
    assert answers["earliest"].offset == 0
    assert answers["latest"].offset == 5
    assert (answers["max"].offset, answers["max"].timestamp) == (4, batch[-1].timestamp)

    cluster = admin.describe_cluster().result(TIMEOUT)
    assert [n.id for n in cluster.nodes] == [0]
    assert cluster.controller.id == 0
    assert cluster.cluster_id

    described = admin.describe_topics(TopicCollection([topic]))[topic].result(TIMEOUT)
    assert len(described.partitions) == 3

    admin.delete_topics([topic])[topic].result(TIMEOUT)
    assert topic not in admin.list_topics(timeout=TIMEOUT).topics


def test_deleting_a_topic_forgets_its_committed_offsets(shared_broker) -> None:
    admin = _admin(shared_broker.bootstrap)
    topic = unique_topic("ck-forget")
    group = unique_topic("g-forget")
    _create(admin, topic)
    _produce(shared_broker.bootstrap, topic, samples(3))
    consumer = Consumer({"bootstrap.servers": shared_broker.bootstrap, "group.id": group})
    try:
        consumer.commit(offsets=[TopicPartition(topic, 0, 2)], asynchronous=False)
        assert consumer.committed([TopicPartition(topic, 0)], TIMEOUT)[0].offset == 2
        admin.delete_topics([topic])[topic].result(TIMEOUT)
        _create(admin, topic)  # same name, new topic: no inherited position
        assert consumer.committed([TopicPartition(topic, 0)], TIMEOUT)[0].offset < 0
    finally:
        consumer.close()
