"""Kafka's TransactionalMessageCopier (the Java client's transactions, as Kafka's system
tests drive them) against each cluster: it copies a partition in transactions of 50,
aborting some at random and retrying them, sending its consumed offsets with each
transaction; a read_committed reader then finds every input exactly once in the output,
and the group's committed offset is the input's end. It copies exactly once when the copier
itself is killed with SIGKILL and restarted, and on the bundled broker also while the
broker is killed with SIGKILL a few times mid-copy."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from reference.launcher import java_command
from tests.broker_fixture import start_broker
from tests.clients.test_transactions_confluent import values
from tests.clusters import Cluster
from tests.differential.harness import create_topic, produce
from tests.java.verifiable import TOOLS, run_tool

COUNT = 500
COPY_TIMEOUT_S = 60.0


def assert_copied_once(bootstrap: str, source: str, target: str, group: str, count: int) -> None:
    """Every input value once in the output for read_committed readers, and the group's
    committed offset at the input's end."""
    assert values(bootstrap, target, "read_committed", partitions=1) == sorted(
        f"v{i}" for i in range(count)
    )
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    (tp,) = consumer.committed([TopicPartition(source, 0)], timeout=10)
    consumer.close()
    assert tp.offset == count


def test_copier_copies_exactly_once_with_random_aborts(cluster: Cluster) -> None:
    run = uuid.uuid4().hex[:8]
    source, target, group = f"copy-in-{run}", f"copy-out-{run}", f"copy-{run}"
    create_topic(cluster, source, partitions=1)
    create_topic(cluster, target, partitions=1)
    produce(cluster, source, [{"value": f"v{i}".encode(), "partition": 0} for i in range(COUNT)])
    events, _ = run_tool(
        "TransactionalMessageCopier",
        [
            "--broker-list", cluster.bootstrap,
            "--input-topic", source,
            "--input-partition", "0",
            "--output-topic", target,
            "--consumer-group", group,
            "--transactional-id", f"copier-{run}",
            "--transaction-size", "50",
            "--enable-random-aborts",
            "--use-group-metadata",
        ],
    )  # fmt: skip
    stages = [e for e in events if "stage" in e]
    assert stages, events[-5:]
    assert stages[-1]["stage"] == "ShutdownComplete", stages[-3:]
    assert stages[-1]["totalProcessed"] == COUNT, stages[-3:]
    assert_copied_once(cluster.bootstrap, source, target, group, COUNT)


KILLS = 3
KILL_COUNT = 3000


def test_copier_copies_exactly_once_across_broker_kill9(tmp_path: Path) -> None:
    """The copier keeps copying while the bundled broker is killed with SIGKILL three times
    mid-copy and restarted on its port: every input record is in the output exactly once
    for read_committed readers, nothing from aborted or interrupted transactions."""
    broker = start_broker(tmp_path / "data")
    try:
        run = uuid.uuid4().hex[:8]
        source, target, group = f"kill-in-{run}", f"kill-out-{run}", f"kill-{run}"
        here = Cluster("odradek", broker.bootstrap, "odradek")
        create_topic(here, source, partitions=1)
        create_topic(here, target, partitions=1)
        produce(
            here, source, [{"value": f"v{i}".encode(), "partition": 0} for i in range(KILL_COUNT)]
        )
        copier, progress = start_copier(broker.bootstrap, source, target, group, f"killed-{run}")
        try:
            last: dict[str, Any] = {}
            for kill in range(KILLS):
                # Kill once the copier has committed a further tenth of the input.
                goal = (kill + 1) * KILL_COUNT // (KILLS + 2)
                while int(last.get("consumed", 0)) < goal:
                    last = progress.get(timeout=COPY_TIMEOUT_S)
                # Mid-copy: the copier still runs with records left to copy.
                assert copier.poll() is None
                assert int(last["remaining"]) > 0, last
                broker.kill9()
                broker.restart(same_port=True)
            assert copier.wait(COPY_TIMEOUT_S * 4) == 0
        finally:
            if copier.poll() is None:
                copier.kill()
        assert_copied_once(broker.bootstrap, source, target, group, KILL_COUNT)
    finally:
        if broker.running:
            broker.stop()


def start_copier(
    bootstrap: str,
    source: str,
    target: str,
    group: str,
    transactional_id: str,
    transaction_timeout_ms: int = 60_000,
) -> tuple[subprocess.Popen[str], queue.Queue[dict[str, Any]]]:
    """The copier in transactions of 50, and a queue of the progress lines it prints."""
    command = java_command(
        TOOLS + "TransactionalMessageCopier",
        [
            "--broker-list", bootstrap,
            "--input-topic", source,
            "--input-partition", "0",
            "--output-topic", target,
            "--consumer-group", group,
            "--transactional-id", transactional_id,
            "--transaction-size", "50",
            "--transaction-timeout", str(transaction_timeout_ms),
            "--use-group-metadata",
        ],
    )  # fmt: skip
    copier = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    progress: queue.Queue[dict[str, Any]] = queue.Queue()

    def read() -> None:
        assert copier.stdout is not None
        for line in copier.stdout:
            if line.startswith("{"):
                progress.put(json.loads(line))

    threading.Thread(target=read, daemon=True).start()
    return copier, progress


APP_KILLS = 2
# A copier killed after sending its offsets leaves them pending in its open transaction.
# Its next incarnation reads its committed offset (read_committed: require_stable) before
# initTransactions fences that transaction, so it waits, on both brokers, until the
# coordinator aborts it on timeout; the Java consumer gives up after 60 s. Kafka's own
# system tests hard-bounce the copier with a transaction timeout under their progress
# timeout for this reason (transactions_test.py); 10 s keeps the wait well under ours.
APP_TRANSACTION_TIMEOUT_MS = 10_000


def test_copier_copies_exactly_once_across_its_own_kill9(cluster: Cluster) -> None:
    """The application is killed with SIGKILL twice mid-copy and started again with the
    same transactional id and group: its next incarnation resumes from the committed offset
    once the open transaction is gone (aborted on timeout, or fenced by initTransactions),
    so the output holds every input exactly once."""
    run = uuid.uuid4().hex[:8]
    source, target, group = f"app-in-{run}", f"app-out-{run}", f"app-{run}"
    create_topic(cluster, source, partitions=1)
    create_topic(cluster, target, partitions=1)
    produce(
        cluster, source, [{"value": f"v{i}".encode(), "partition": 0} for i in range(KILL_COUNT)]
    )
    for _ in range(APP_KILLS):
        copier, progress = start_copier(
            cluster.bootstrap, source, target, group, f"app-{run}", APP_TRANSACTION_TIMEOUT_MS
        )
        try:
            last: dict[str, Any] = {}
            # Kill once this incarnation has copied a further quarter of the input.
            while int(last.get("consumed", 0)) < KILL_COUNT // 4:
                last = progress.get(timeout=COPY_TIMEOUT_S)
            assert copier.poll() is None
            assert int(last["remaining"]) > 0, last
        finally:
            copier.kill()
            copier.wait()
    copier, _ = start_copier(
        cluster.bootstrap, source, target, group, f"app-{run}", APP_TRANSACTION_TIMEOUT_MS
    )
    try:
        assert copier.wait(COPY_TIMEOUT_S * 4) == 0
    finally:
        if copier.poll() is None:
            copier.kill()
    assert_copied_once(cluster.bootstrap, source, target, group, KILL_COUNT)
