"""confluent-kafka AdminClient over consumer groups, against a real broker process.

Lists (with a state filter) and describes groups with members, client ids, hosts and
assignments (classic via DescribeGroups, KIP-848 via ConsumerGroupDescribe), lists
committed offsets, alters them for an empty group, is refused with Kafka's error
(UNKNOWN_MEMBER_ID) for an active one, and deletes the group.
"""

from __future__ import annotations

import time
import uuid

from confluent_kafka import (
    Consumer,
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    ConsumerGroupType,
    KafkaError,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic

from tests.clients.messages import unique_topic

PARTITIONS = 4
DEADLINE_S = 60.0


def setup_topic(bootstrap: str) -> str:
    topic = unique_topic("grp-adm")
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(10)
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(40):
        producer.produce(topic, value=str(i).encode(), partition=i % PARTITIONS)
    assert producer.flush(20) == 0
    return topic


def consume_all(consumers: list[Consumer], total: int) -> None:
    """Poll in turn, committing every message, until `total` are committed."""
    done = 0
    deadline = time.monotonic() + DEADLINE_S
    while done < total:
        assert time.monotonic() < deadline, f"only {done}/{total} consumed"
        for c in consumers:
            msg = c.poll(0.05)
            if msg is not None and not msg.error():
                c.commit(message=msg, asynchronous=False)
                done += 1


def test_list_describe_alter_and_delete_classic_group(shared_broker) -> None:
    bootstrap = shared_broker.bootstrap
    topic = setup_topic(bootstrap)
    group = f"adm-{uuid.uuid4().hex[:8]}"
    consumers = [
        Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "client.id": f"client-{i}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "heartbeat.interval.ms": 300,
            }
        )
        for i in range(2)
    ]
    for c in consumers:
        c.subscribe([topic])
    consume_all(consumers, 40)
    admin = AdminClient({"bootstrap.servers": bootstrap})

    listed = {g.group_id: g for g in admin.list_consumer_groups().result(10).valid}
    assert listed[group].state == ConsumerGroupState.STABLE
    assert listed[group].type == ConsumerGroupType.CLASSIC
    stable = admin.list_consumer_groups(states={ConsumerGroupState.STABLE}).result(10).valid
    empty = admin.list_consumer_groups(states={ConsumerGroupState.EMPTY}).result(10).valid
    assert group in {g.group_id for g in stable}
    assert group not in {g.group_id for g in empty}

    described = admin.describe_consumer_groups([group])[group].result(10)
    assert described.state == ConsumerGroupState.STABLE
    assert described.partition_assignor == "range"
    assert sorted(m.client_id for m in described.members) == ["client-0", "client-1"]
    assert {m.host for m in described.members} == {"/127.0.0.1"}
    owned = [tp.partition for m in described.members for tp in m.assignment.topic_partitions]
    assert sorted(owned) == list(range(PARTITIONS))

    request = [ConsumerGroupTopicPartitions(group)]
    offsets = admin.list_consumer_group_offsets(request)[group].result(10)
    assert {tp.partition: tp.offset for tp in offsets.topic_partitions} == dict.fromkeys(
        range(PARTITIONS), 10
    )

    reset = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0, 3)])]
    refused = admin.alter_consumer_group_offsets(reset)[group].result(10)
    assert [tp.error.code() for tp in refused.topic_partitions] == [KafkaError.UNKNOWN_MEMBER_ID]

    for c in consumers:
        c.close()
    assert admin.describe_consumer_groups([group])[group].result(10).state == (
        ConsumerGroupState.EMPTY
    )
    accepted = admin.alter_consumer_group_offsets(reset)[group].result(10)
    assert [tp.error for tp in accepted.topic_partitions] == [None]
    offsets = admin.list_consumer_group_offsets(request)[group].result(10)
    assert {tp.partition: tp.offset for tp in offsets.topic_partitions} == {
        0: 3,
        1: 10,
        2: 10,
        3: 10,
    }

    admin.delete_consumer_groups([group])[group].result(10)
    assert group not in {g.group_id for g in admin.list_consumer_groups().result(10).valid}


def test_describe_kip848_group(shared_broker) -> None:
    bootstrap = shared_broker.bootstrap
    topic = setup_topic(bootstrap)
    group = f"adm848-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": "kip848",
            "group.protocol": "consumer",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    consume_all([consumer], 40)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    described = admin.describe_consumer_groups([group])[group].result(10)
    assert described.type == ConsumerGroupType.CONSUMER
    assert described.state == ConsumerGroupState.STABLE
    (member,) = described.members
    assert member.client_id == "kip848"
    assert sorted(tp.partition for tp in member.assignment.topic_partitions) == list(
        range(PARTITIONS)
    )
    consumer.close()
    listed = {g.group_id: g for g in admin.list_consumer_groups().result(10).valid}
    assert listed[group].type == ConsumerGroupType.CONSUMER
    assert listed[group].state == ConsumerGroupState.EMPTY
