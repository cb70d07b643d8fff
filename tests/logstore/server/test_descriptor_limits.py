"""Resources stay bounded and the broker always restarts with what it accepted.

A broker whose open-files limit is 256 holds a topic of 1,000 partitions: every partition
takes writes and reads, new connections keep working, requests over the configured
partition limits get POLICY_VIOLATION with a readable message, and after `kill -9` it
restarts and serves everything. With default settings, a request for 30,000 partitions is
refused as Apache Kafka refuses it.
"""

from __future__ import annotations

import os
import resource
import socket
import struct
import time
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

from tests.broker_fixture import BrokerProcess
from tests.clients.messages import unique_topic
from tests.clusters import Cluster
from tests.logstore.broker.wire import Wire, schema
from tests.logstore.server.clients import (
    answering,
    produce_one_per_partition,
    read_every_partition,
)

NOFILE = 256
PARTITIONS = 1000
PER_TOPIC = 1050
PER_BROKER = 1100
METADATA = 3
POLICY_VIOLATION = 44


def _low_nofile() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))


def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _refusal(future) -> KafkaError:
    with pytest.raises(KafkaException) as info:
        future.result(timeout=30)
    return info.value.args[0]


def _auto_create(bootstrap: str, topic: str) -> int:
    from logstore.broker.build import make

    with Wire(bootstrap) as w:
        s = schema(METADATA, 12)
        reply = w.request(
            METADATA,
            12,
            topics=(make(s.MetadataRequestTopic, name=topic, topic_id=None),),
            allow_auto_topic_creation=True,
            include_topic_authorized_operations=False,
        )
    return int(reply.topics[0].error_code)


def _partitions_held(admin: AdminClient) -> int:
    topics = admin.list_topics(timeout=30).topics.values()
    return sum(len(t.partitions) for t in topics)


@pytest.fixture
def small_broker(tmp_path: Path):
    proc = BrokerProcess(
        tmp_path / "data",
        args=[
            "--max-partitions-per-topic", str(PER_TOPIC),
            "--max-broker-partitions", str(PER_BROKER),
        ],
        preexec_fn=_low_nofile,
    )  # fmt: skip
    proc.data_dir.mkdir(parents=True)
    proc.start()
    try:
        yield proc
    finally:
        if proc.running:
            proc.stop()


def test_many_more_partitions_than_descriptors_survive_kill_9(small_broker: BrokerProcess) -> None:
    bootstrap = small_broker.bootstrap
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = unique_topic("wide")
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(timeout=60)

    produce_one_per_partition(bootstrap, topic, PARTITIONS, "first")
    seen = read_every_partition(bootstrap, topic, PARTITIONS, PARTITIONS)
    assert seen == {p: [f"first-{p}".encode()] for p in range(PARTITIONS)}
    assert _open_fds(small_broker.pid) < NOFILE
    # New connections are accepted and answered, never reset for want of descriptors.
    extra = [answering(bootstrap) for _ in range(30)]
    for w in extra:
        w.close()

    # Over the per-topic limit, then over the broker's: refused, nothing created.
    grow = _refusal(admin.create_partitions([NewPartitions(topic, PER_TOPIC + 1)])[topic])
    assert grow.code() == KafkaError.POLICY_VIOLATION
    assert f"at most {PER_TOPIC} per topic" in grow.str()
    other = unique_topic("other")
    too_many = PER_BROKER - _partitions_held(admin) + 1
    refused = _refusal(admin.create_topics([NewTopic(other, too_many, 1)])[other])
    assert refused.code() == KafkaError.POLICY_VIOLATION
    assert f"holds at most {PER_BROKER}" in refused.str()
    # Fill the broker exactly; then even auto-creation (one partition) is refused.
    fill = unique_topic("fill")
    admin.create_topics([NewTopic(fill, too_many - 1, 1)])[fill].result(timeout=60)
    assert _partitions_held(admin) == PER_BROKER
    assert _auto_create(bootstrap, unique_topic("auto")) == POLICY_VIOLATION
    assert _open_fds(small_broker.pid) < NOFILE

    small_broker.kill9()
    # Same data dir and descriptor limit, default settings: the derived partition limit
    # (256) is now far below what the broker holds. What it accepted still opens and
    # serves; only new partitions are refused.
    small_broker.args = []
    small_broker.start()
    bootstrap = small_broker.bootstrap
    produce_one_per_partition(bootstrap, topic, PARTITIONS, "second")
    seen = read_every_partition(bootstrap, topic, PARTITIONS, 2 * PARTITIONS)
    assert seen == {p: [f"first-{p}".encode(), f"second-{p}".encode()] for p in range(PARTITIONS)}
    assert _open_fds(small_broker.pid) < NOFILE
    admin = AdminClient({"bootstrap.servers": bootstrap})
    late = unique_topic("late")
    refused = _refusal(admin.create_topics([NewTopic(late, 1, 1)])[late])
    assert refused.code() == KafkaError.POLICY_VIOLATION
    assert f"holds at most {NOFILE}" in refused.str()


def test_thirty_thousand_partitions_are_refused_as_kafka_refuses_them(cluster: Cluster) -> None:
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    topic = unique_topic("grow")
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=30)
    for total in (30_000, 1 + 10_001):  # Kafka's cap: 10,000 new partitions per request
        grown = _refusal(admin.create_partitions([NewPartitions(topic, total)])[topic])
        assert grown.code() == KafkaError.POLICY_VIOLATION
        assert grown.str() == "Excessively large number of additional partitions per request."
    huge = unique_topic("huge")
    for total in (30_000, 10_001):
        created = _refusal(admin.create_topics([NewTopic(huge, total, 1)])[huge])
        assert created.code() == KafkaError.POLICY_VIOLATION
        assert created.str() == "Excessively large number of partitions per request."
    # Nothing was created, and the broker still takes new connections.
    metadata = admin.list_topics(timeout=30)
    assert huge not in metadata.topics
    assert len(metadata.topics[topic].partitions) == 1


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _api_versions_error(sock: socket.socket) -> int:
    """ApiVersions v0 over an already open connection; the answer's error code."""
    body = struct.pack(">hhih", 18, 0, 7, -1)  # api key, version, correlation id, no client id
    sock.sendall(struct.pack(">i", len(body)) + body)
    with sock.makefile("rb") as stream:
        head = stream.read(4)
        assert len(head) == 4, "the broker closed the connection unanswered"
        (size,) = struct.unpack(">i", head)
        correlation, error = struct.unpack(">ih", stream.read(size)[:6])
    assert correlation == 7
    return error


def test_running_out_of_descriptors_never_kills_the_listener(tmp_path: Path) -> None:
    # 28 descriptors: below what the plan's floors assume (64 reserved, 16 connections), so
    # accept() itself fails with EMFILE while the clients below hold their sockets.
    def tiny() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (28, 28))

    proc = BrokerProcess(tmp_path / "data", preexec_fn=tiny)
    proc.data_dir.mkdir(parents=True)
    proc.start()
    try:
        flood = []
        for _ in range(80):
            try:
                flood.append(socket.create_connection(("127.0.0.1", proc.port), timeout=10))
            except OSError:
                break
        # The broker can hold only a few of them; the rest wait in its listen backlog.
        assert len(flood) == 80
        deadline = time.monotonic() + 10
        while _open_fds(proc.pid) < 28 and time.monotonic() < deadline:
            time.sleep(0.05)  # polling until the broker accepted what it could
        assert _open_fds(proc.pid) == 28  # out of descriptors
        before = _cpu_seconds(proc.pid)
        time.sleep(1.0)  # measuring the broker's CPU while it is out of descriptors
        assert _cpu_seconds(proc.pid) - before < 0.5, "the listener spins on EMFILE"
        # A connection that waited in the backlog is served once descriptors free up, not
        # dropped (as uvloop's own servers drop every pending connection on EMFILE).
        waiting = flood.pop()
        for sock in flood:
            sock.close()
        assert _api_versions_error(waiting) == 0
        waiting.close()
        with answering(proc.bootstrap) as w:  # still listening, and answering
            assert w.request(18, 0).error_code == 0
        assert proc.running
    finally:
        proc.stop()
