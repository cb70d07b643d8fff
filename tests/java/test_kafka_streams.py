"""Kafka Streams against Odradek and Apache Kafka: `StreamsProbe.java`, a word count under
exactly_once_v2 with a repartition topic and a RocksDB store, runs through one instance, a
second joining, the first leaving and a fresh one restoring every store from its changelog.
Both brokers must give the same lines: every word counted exactly once in each phase (the
output's update count is the number of words read), the internal topics Streams created
with their partitions and cleanup policy, and the repartition topic purged by DeleteRecords.

Streams drives most of the broker at once: CreateTopics with its internal topics' configs,
a consumer group with its own assignor's user data, transactions that carry the group's
offsets (TxnOffsetCommit with the generation), read_committed fetches, ListOffsets and
DeleteRecords, and a compacted changelog read back for a restore.

It keeps counting exactly once when the application is killed with SIGKILL once its first
results are out and started again (its store restored from the changelog, then a second
batch counted), against both brokers, and on the bundled broker also while the broker is
killed with SIGKILL and restarted under the running application. (A check of the group's
committed input showed the kill lands after the first batch was processed: these runs do
not leave a transaction open at the kill.)
"""

from __future__ import annotations

import queue
import struct
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from reference.launcher import java_command
from tests.broker_fixture import start_broker
from tests.clusters import Cluster, cluster_for
from tests.differential.harness import assert_same, create_topic
from tests.probe_lines import probe_lines

PROBE = Path(__file__).with_name("StreamsProbe.java")
RUN_TIMEOUT_S = 600
PHASES = 4
WORDS_PER_PHASE = 600  # 200 lines of three words
# The probe's vocabulary and its lines: words[i % 5], words[i % 7], words[i % 11].
WORDS = ("alder", "birch", "cedar", "dogwood", "elm", "fir", "ginkgo", "hazel", "ironwood")
WORDS += ("juniper", "kapok")
PARTITIONS = 3
LINES = 3000  # per incarnation of the application
KILL_AFTER_UPDATES = 300
START_TIMEOUT_S = 120.0
COUNT_TIMEOUT_S = 180.0


def lines(bootstrap: str, state_dir: Path) -> list[str]:
    return probe_lines(
        java_command(str(PROBE), [bootstrap, uuid.uuid4().hex[:8], str(state_dir)]),
        RUN_TIMEOUT_S,
    )


@pytest.mark.kafka
def test_kafka_streams_counts_exactly_once_as_against_kafka(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    seen = {
        kind: lines(cluster_for(request, kind).bootstrap, tmp_path / kind)
        for kind in ("kafka", "odradek")
    }
    kafka = seen["kafka"]
    # The reference itself counted every word once per phase, whatever moved in between.
    assert [line for line in kafka if " updates " in line] == [
        f"phase {n} updates {n * WORDS_PER_PHASE}" for n in range(1, PHASES + 1)
    ]
    assert kafka[-1] == "repartition purged true"
    assert_same(seen)


def line(i: int) -> str:
    return f"{WORDS[i % 5]} {WORDS[i % 7]} {WORDS[i % 11]}"


class App:
    """One instance of the probe's application in `serve` mode, as its own process."""

    def __init__(self, bootstrap: str, run: str, state_dir: Path) -> None:
        self.process = subprocess.Popen(
            java_command(str(PROBE), [bootstrap, run, str(state_dir), "serve"]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        started: queue.Queue[str] = queue.Queue()

        def read() -> None:
            assert self.process.stdout is not None
            for out in self.process.stdout:
                started.put(out.strip())

        threading.Thread(target=read, daemon=True).start()
        assert started.get(timeout=START_TIMEOUT_S) == "RUNNING"

    def kill9(self) -> None:
        self.process.kill()
        self.process.wait()

    def leave(self) -> None:
        """Close its standard input: it leaves the group and exits."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        assert self.process.wait(timeout=60) == 0


class Output:
    """What a read_committed reader of the output topic has seen: each word's latest count
    and how many updates in all."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"reader-{topic}",
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
            }
        )
        self.consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
        self.counts: dict[str, int] = {}
        self.updates = 0

    def read(self) -> None:
        for message in self.consumer.consume(500, timeout=0.2):
            if message.error():
                continue
            (count,) = struct.unpack(">q", message.value())
            self.counts[message.key().decode()] = count
            self.updates += 1

    def more(self, updates: int) -> None:
        """Read until `updates` more updates arrived."""
        goal = self.updates + updates
        self.until(lambda: self.updates >= goal, f"{updates} more updates")

    def until(self, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + COUNT_TIMEOUT_S
        while not done():
            assert time.monotonic() < deadline, f"{what}: {self.updates} updates, {self.counts}"
            self.read()


def feed(bootstrap: str, topic: str, first: int, count: int) -> Counter[str]:
    """Lines `first` to `first + count` into the input; the words they hold."""
    producer = Producer({"bootstrap.servers": bootstrap})
    words: Counter[str] = Counter()
    for i in range(first, first + count):
        producer.produce(topic, key=f"k{i}", value=line(i))
        words.update(line(i).split())
        producer.poll(0)
    assert producer.flush(60) == 0
    return words


def topics(cluster: Cluster) -> tuple[str, str, str]:
    run = uuid.uuid4().hex[:8]
    for topic in (f"ks-in-{run}", f"ks-out-{run}"):
        create_topic(cluster, topic, partitions=PARTITIONS)
    return run, f"ks-in-{run}", f"ks-out-{run}"


def test_kafka_streams_counts_exactly_once_across_its_own_kill9(
    cluster: Cluster, tmp_path: Path
) -> None:
    run, source, target = topics(cluster)
    output = Output(cluster.bootstrap, target)
    app = App(cluster.bootstrap, run, tmp_path)
    expected = feed(cluster.bootstrap, source, 0, LINES)
    output.more(KILL_AFTER_UPDATES)
    app.kill9()
    app = App(cluster.bootstrap, run, tmp_path)
    expected += feed(cluster.bootstrap, source, LINES, LINES)
    output.until(lambda: output.counts == expected, "every word counted")
    app.leave()
    output.read()
    assert output.counts == expected
    assert output.updates == sum(expected.values())  # nothing counted twice


BROKER_KILLS = 2


def test_kafka_streams_counts_exactly_once_across_broker_kill9(tmp_path: Path) -> None:
    """The bundled broker is killed with SIGKILL twice and restarted on its port under a
    running application: it carries on, and every word is counted once."""
    broker = start_broker(tmp_path / "data")
    try:
        here = Cluster("odradek", broker.bootstrap, "odradek")
        run, source, target = topics(here)
        output = Output(here.bootstrap, target)
        app = App(here.bootstrap, run, tmp_path / "state")
        expected: Counter[str] = Counter()
        for kill in range(BROKER_KILLS):
            expected += feed(here.bootstrap, source, kill * LINES, LINES)
            output.more(KILL_AFTER_UPDATES)
            broker.kill9()
            broker.restart(same_port=True)
        output.until(lambda: output.counts == expected, "every word counted")
        app.leave()
        output.read()
        assert output.counts == expected
        assert output.updates == sum(expected.values())  # nothing counted twice
    finally:
        if broker.running:
            broker.stop()
