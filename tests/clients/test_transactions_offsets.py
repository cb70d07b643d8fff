"""Consume-transform-produce with `send_offsets_to_transaction`: exactly-once output across
an application crash, with confluent-kafka, kafka-python and aiokafka, on both brokers.

The application (`tests/clients/eos_app.py`, a real process) commits a few transactions,
then is killed with SIGKILL in the middle of one that already wrote its output and added
its consumer offsets. A second run with the same transactional id and group fences the
dead one (its open transaction is aborted), resumes from the offsets committed with the
last committed transaction and drains the input. A read_committed reader then finds every
input record transformed exactly once, in order per partition; a read_uncommitted reader
also sees the aborted attempt's records (so the crash did happen mid-transaction); the
group's committed offsets are the input's end offsets.
"""

from __future__ import annotations

import select
import subprocess
import sys
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.broker_fixture import REPO_ROOT
from tests.clusters import Cluster

PARTITIONS = 2
PER_PARTITION = 150
TIMEOUT_S = 60.0


def create_topics(cluster: Cluster, *names: str) -> None:
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap, "log_level": 3})
    for future in admin.create_topics([NewTopic(n, PARTITIONS, 1) for n in names]).values():
        future.result(TIMEOUT_S)


def fill(cluster: Cluster, topic: str) -> dict[int, list[bytes]]:
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "log_level": 3})
    values = {p: [f"p{p}-{i}".encode() for i in range(PER_PARTITION)] for p in range(PARTITIONS)}
    for p, vs in values.items():
        for v in vs:
            producer.produce(topic, v, partition=p)
    assert producer.flush(TIMEOUT_S) == 0
    return values


def read_all(cluster: Cluster, topic: str, isolation: str) -> dict[int, list[bytes]]:
    """Every value of every partition up to its end, as a consumer with `isolation` sees."""
    consumer = Consumer(
        {
            "bootstrap.servers": cluster.bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": isolation,
            "log_level": 3,
        }
    )
    out: dict[int, list[bytes]] = {p: [] for p in range(PARTITIONS)}
    try:
        consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
        at_end: set[int] = set()
        deadline = time.monotonic() + TIMEOUT_S
        while len(at_end) < PARTITIONS:
            assert time.monotonic() < deadline, f"{topic}: reading stalled at {out}"
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            error = msg.error()
            if error is not None:
                assert error.code() == KafkaError._PARTITION_EOF, error
                at_end.add(msg.partition())
                continue
            out[msg.partition()].append(msg.value())
    finally:
        consumer.close()
    return out


def app(cluster: Cluster, client: str, txn_id: str, group: str, src: str, dst: str, *extra: str):
    return subprocess.Popen(
        [sys.executable, "-m", "tests.clients.eos_app", client, cluster.bootstrap, txn_id, group,
         src, dst, *extra],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip


def wait_for_open(proc: subprocess.Popen[bytes]) -> None:
    """Block until the application says its transaction is open (or fail with its stderr)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready:
            line = proc.stdout.readline()
            if line.strip() == b"OPEN":
                return
            if not line:
                break
    proc.kill()
    _, err = proc.communicate(timeout=10)
    pytest.fail(f"the application never opened its last transaction:\n{err.decode()[-3000:]}")


@pytest.mark.parametrize("client", ["confluent", "kafka-python", "aiokafka"])
def test_exactly_once_output_across_an_application_crash(cluster: Cluster, client: str) -> None:
    run = uuid.uuid4().hex[:8]
    src, dst = f"eos-src-{run}", f"eos-dst-{run}"
    txn_id, group = f"eos-{client}-{run}", f"eos-group-{run}"
    create_topics(cluster, src, dst)
    values = fill(cluster, src)

    first = app(cluster, client, txn_id, group, src, dst, "--crash-after", "2")
    wait_for_open(first)
    first.kill()  # SIGKILL mid-transaction: output written, offsets added, no EndTxn
    first.wait(10)

    second = app(cluster, client, txn_id, group, src, dst)
    _, err = second.communicate(timeout=180)
    assert second.returncode == 0, err.decode()[-3000:]

    committed = read_all(cluster, dst, "read_committed")
    assert committed == {p: [v + b"!" for v in vs] for p, vs in values.items()}
    uncommitted = read_all(cluster, dst, "read_uncommitted")
    assert sum(map(len, uncommitted.values())) > sum(map(len, committed.values()))

    admin = AdminClient({"bootstrap.servers": cluster.bootstrap, "log_level": 3})
    from confluent_kafka import ConsumerGroupTopicPartitions

    (result,) = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)]).values()
    offsets = {tp.partition: tp.offset for tp in result.result(TIMEOUT_S).topic_partitions}
    assert offsets == dict.fromkeys(range(PARTITIONS), PER_PARTITION)
