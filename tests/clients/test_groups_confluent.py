"""confluent-kafka (librdkafka) consumer groups against a real broker process.

Three classic-protocol consumers share a 6-partition topic two partitions each, one leaves
and the others take over, every message is consumed exactly once with committed offsets,
and a broker restarted after `kill -9` serves the committed offsets. A KIP-848 consumer
(`group.protocol=consumer`) joins and consumes too.
"""

from __future__ import annotations

import time
import uuid

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from tests.clients.group_topics import create_topic, produce

DEADLINE_S = 60.0


def consumer(bootstrap: str, group: str, **extra: str | int) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "heartbeat.interval.ms": 300,
            "session.timeout.ms": 10_000,
            **extra,
        }
    )


def poll_commit(c: Consumer, seen: list[int], timeout: float = 0.05) -> None:
    """Consume one message and count it only once its offset is committed."""
    msg = c.poll(timeout)
    if msg is None or msg.error():
        return
    try:
        c.commit(message=msg, asynchronous=False)
    except KafkaException:
        return  # not committed (rebalance): it will be delivered again
    seen.append(int(msg.value()))


def run_until(consumers: list[Consumer], seen: list[int], done, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        for c in consumers:
            poll_commit(c, seen)


def partitions_of(c: Consumer) -> set[int]:
    return {tp.partition for tp in c.assignment()}


def test_three_consumers_share_rebalance_and_resume_after_restart(broker) -> None:
    topic = create_topic(broker.bootstrap)
    produce(broker.bootstrap, topic, range(300))
    group = f"g-{uuid.uuid4().hex[:8]}"
    members = [consumer(broker.bootstrap, group) for _ in range(3)]
    for c in members:
        c.subscribe([topic])
    seen: list[int] = []

    def balanced() -> bool:
        owned = [partitions_of(c) for c in members]
        return all(len(o) == 2 for o in owned) and set().union(*owned) == set(range(6))

    run_until(members, seen, balanced, "three consumers with two partitions each")
    leaver = members.pop()
    left_with = partitions_of(leaver)
    leaver.close()

    def taken_over() -> bool:
        owned = [partitions_of(c) for c in members]
        return set().union(*owned) == set(range(6)) and all(len(o) == 3 for o in owned)

    run_until(members, seen, taken_over, f"the others to take over {left_with}")
    produce(broker.bootstrap, topic, range(300, 600))
    run_until(members, seen, lambda: len(set(seen)) == 600, "all 600 messages")
    for c in members:
        c.close()
    assert sorted(seen) == list(range(600)), "every message exactly once"

    broker.kill9()
    broker.restart()
    again = consumer(broker.bootstrap, group)
    committed = again.committed([TopicPartition(topic, p) for p in range(6)], timeout=10)
    assert {tp.partition: tp.offset for tp in committed} == dict.fromkeys(range(6), 100)
    produce(broker.bootstrap, topic, range(600, 606))
    again.subscribe([topic])
    late: list[int] = []
    run_until([again], late, lambda: len(late) >= 6, "the six new messages")
    again.close()
    assert sorted(late) == list(range(600, 606)), "resumed at the committed offsets"


def test_kip848_consumer_protocol_joins_and_consumes(broker) -> None:
    topic = create_topic(broker.bootstrap)
    produce(broker.bootstrap, topic, range(60))
    group = f"g848-{uuid.uuid4().hex[:8]}"
    settings = {"group.protocol": "consumer"}
    first = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            **settings,
        }
    )
    first.subscribe([topic])
    seen: list[int] = []
    run_until([first], seen, lambda: len(seen) >= 30, "the first consumer to start")
    second = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            **settings,
        }
    )
    second.subscribe([topic])

    def split() -> bool:
        a, b = partitions_of(first), partitions_of(second)
        return len(a) == 3 and len(b) == 3 and a | b == set(range(6))

    run_until([first, second], seen, split, "the KIP-848 group to split the partitions")
    run_until([first, second], seen, lambda: len(set(seen)) == 60, "all 60 messages")
    first.close()
    second.close()
    assert sorted(seen) == list(range(60))
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    offsets = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[
        group
    ].result(10)
    assert {tp.partition: tp.offset for tp in offsets.topic_partitions} == dict.fromkeys(
        range(6), 10
    )


def test_static_member_restart_keeps_partitions_without_rebalance(broker) -> None:
    topic = create_topic(broker.bootstrap)
    group = f"gs-{uuid.uuid4().hex[:8]}"
    rebalances: list[str] = []

    def static(instance: str) -> Consumer:
        c = consumer(broker.bootstrap, group, **{"group.instance.id": instance})
        c.subscribe(
            [topic],
            on_assign=lambda _c, _p: rebalances.append(f"{instance} assigned"),
            on_revoke=lambda _c, _p: rebalances.append(f"{instance} revoked"),
        )
        return c

    a, b = static("a"), static("b")
    seen: list[int] = []

    def balanced() -> bool:
        return len(partitions_of(a)) == 3 and len(partitions_of(b)) == 3

    run_until([a, b], seen, balanced, "two static members with three partitions each")
    before = partitions_of(a)
    rebalances.clear()
    a.close()  # a static member does not leave the group on close (KIP-345)
    a = static("a")
    run_until([a, b], seen, lambda: partitions_of(a) == before, "a to get its partitions back")
    for _ in range(20):
        b.poll(0.05)  # a rebalance would show up in b's callbacks now
    # a's own close revokes locally; b sees nothing: no rebalance happened.
    assert rebalances == ["a revoked", "a assigned"], "b must not notice a's restart"
    a.close()
    b.close()
