"""Moving from the bundled broker to a three-node Kafka cluster with MirrorMaker 2.

A real Odradek (the source), the real three-node Apache Kafka cluster (the target), Kafka's
own MirrorMaker 2 run with the configuration the console's "Move to another cluster" page
shows, that page's comparison of both sides, and a real confluent-kafka consumer that
switches only its bootstrap servers and must continue with no record lost or repeated.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
from django.test import Client

from console.models import Cluster
from reference.cluster import KafkaCluster
from reference.mirror import MirrorMakerProcess, start_mirror_maker
from tests.broker_fixture import BrokerProcess
from tests.console.topics_helpers import console_on

pytestmark = [pytest.mark.kafka_cluster, pytest.mark.slow, pytest.mark.django_db]

PARTITIONS = 3


def _produce(bootstrap: str, topic: str, values: range) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for n in values:
        # Keyed by number so that every partition gets some of each batch.
        producer.produce(topic, key=str(n % 7).encode(), value=f"record-{n}".encode())
    assert producer.flush(30) == 0


def _consumer(bootstrap: str, group: str, topic: str) -> Consumer:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    return consumer


def _read(consumer: Consumer, count: int, limit_s: float = 60.0) -> list[str]:
    """Exactly `count` records (or fewer if the limit passes), committed synchronously."""
    got: list[str] = []
    deadline = time.monotonic() + limit_s
    while len(got) < count and time.monotonic() < deadline:
        for msg in consumer.consume(num_messages=count - len(got), timeout=1.0):
            assert msg.error() is None, msg.error()
            got.append(msg.value().decode())
    if got:
        consumer.commit(asynchronous=False)
    return got


def _drain(consumer: Consumer, idle_s: float = 5.0) -> list[str]:
    """Everything the consumer gets until nothing arrives for `idle_s`."""
    got: list[str] = []
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < idle_s:
        batch = consumer.consume(num_messages=500, timeout=0.5)
        for msg in batch:
            assert msg.error() is None, msg.error()
            got.append(msg.value().decode())
        if batch:
            idle_since = time.monotonic()
    return got


def _until(what: str, check: object, mm2: MirrorMakerProcess, limit_s: float = 120.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        assert mm2.running, f"MirrorMaker 2 exited:\n{mm2.log_tail()}"
        if check():  # type: ignore[operator]
            return
        time.sleep(0.5)  # polling another process's progress
    pytest.fail(f"{what} within {limit_s:.0f}s; MirrorMaker 2 log:\n{mm2.log_tail()}")


def _end_offsets(bootstrap: str, topic: str) -> list[int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "end-offsets-probe"})
    try:
        return [
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=5)[1]
            for p in range(PARTITIONS)
        ]
    except Exception:
        return []
    finally:
        consumer.close()


def _group_offsets(bootstrap: str, group: str, topic: str) -> list[int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        committed = consumer.committed(
            [TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=5
        )
        # An empty partition the group never committed counts as position 0.
        return [max(tp.offset, 0) for tp in committed]
    except Exception:
        return []
    finally:
        consumer.close()


def _move_page(client: Client, topic: str, group: str) -> Any:
    response = client.get(
        "/clusters/local/move/", {"target": "three", "topic": topic, "group": group}
    )
    assert response.status_code == 200
    return response.context


def test_consumer_continues_on_the_cluster_without_loss_or_repeats(
    broker: BrokerProcess,
    kafka_cluster: KafkaCluster,
    tmp_path: Path,
    client: Client,
    django_user_model: Any,
) -> None:
    topic, group = f"moving-{uuid.uuid4().hex[:8]}", f"movers-{uuid.uuid4().hex[:8]}"
    source = AdminClient({"bootstrap.servers": broker.bootstrap})
    created = source.create_topics(
        [NewTopic(topic, PARTITIONS, 1, config={"retention.ms": "604800000"})]
    )
    created[topic].result(timeout=10)

    _produce(broker.bootstrap, topic, range(0, 300))
    consumer = _consumer(broker.bootstrap, group, topic)
    first = _read(consumer, 300)
    consumer.close()
    assert len(first) == 300

    Cluster.objects.create(
        slug="three", name="Three nodes", bootstrap_servers=kafka_cluster.bootstrap
    )
    # A plain user: the page changes nothing, so it needs no admin rights.
    client.force_login(django_user_model.objects.create_user("mover", "", "mover-pass-123"))
    with console_on(broker.bootstrap):
        before = _move_page(client, topic, group)
        assert "target_error" not in before, before["target_error"]
        assert before["copies"] == 3
        assert not before["comparison"].matches
        assert {r.target for r in before["comparison"].records} == {None}
        config = tmp_path / "mm2.properties"
        config.write_text(before["mirror_properties"])
        _mirror(broker, kafka_cluster, topic, group, config)
        after = _move_page(client, topic, group)
        assert after["comparison"].matches
        assert sum(r.target or 0 for r in after["comparison"].positions[group]) == 300
    _check_target(kafka_cluster, topic)

    moved = _consumer(kafka_cluster.bootstrap, group, topic)
    try:
        rest = _drain(moved)
    finally:
        moved.close()
    assert sorted(rest, key=lambda v: int(v.split("-")[1])) == [
        f"record-{n}" for n in range(300, 500)
    ]


def _mirror(
    broker: BrokerProcess, kafka_cluster: KafkaCluster, topic: str, group: str, config: Path
) -> None:
    """Run MirrorMaker until the group's position and then every record are on the target."""
    mm2 = start_mirror_maker(config)
    try:
        _until(
            "the group's translated position reached the target",
            lambda: (
                _group_offsets(kafka_cluster.bootstrap, group, topic)
                == _end_offsets(broker.bootstrap, topic)
            ),
            mm2,
            limit_s=180,
        )
        # Records written while MirrorMaker runs follow the group to the target too.
        _produce(broker.bootstrap, topic, range(300, 500))
        _until(
            "every record reached the target",
            lambda: (
                _end_offsets(kafka_cluster.bootstrap, topic)
                == _end_offsets(broker.bootstrap, topic)
            ),
            mm2,
        )
    finally:
        mm2.stop()


def _check_target(kafka_cluster: KafkaCluster, topic: str) -> None:
    target = AdminClient({"bootstrap.servers": kafka_cluster.bootstrap})
    metadata = target.list_topics(topic, timeout=10).topics[topic]
    assert len(metadata.partitions) == PARTITIONS
    assert all(len(p.replicas) == 3 for p in metadata.partitions.values())
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    configs = target.describe_configs([resource])[resource].result(timeout=10)
    assert configs["retention.ms"].value == "604800000"
