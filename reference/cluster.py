"""Start, stop and restart a real three-node Apache Kafka cluster (KRaft, combined nodes).

Owns the cluster's processes: three JVMs, each a broker and a controller voter, on free
127.0.0.1 ports, each in its own rack, with internal topics and new topics replicated
three times; formatting each node's storage with the same cluster id; stopping one node
and bringing it back on the same data and ports for degraded-state tests. Used by the
test fixture (`tests/kafka_cluster.py`) and the benchmarks.

It must never skip or degrade quietly: a missing JVM or jars, or a node that does not
come up, raise `KafkaUnavailable` with that node's log. It listens on 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from reference.launcher import (
    TEST_BROKER_CONFIG,
    KafkaUnavailable,
    classpath,
    free_port,
    java_command,
    stop_process_group,
)

NODES = 3
# Small heaps: three JVMs share a two-core machine with other test runs.
CLUSTER_JVM_FLAGS: Sequence[str] = (
    "-Xms96m",
    "-Xmx320m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Xss512k",
)
# Benchmarks hold thousands of partition copies per node: 320 MB fills up with 3,000.
BENCH_CLUSTER_JVM_FLAGS: Sequence[str] = (
    "-Xms256m",
    "-Xmx1g",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
)

# What makes three nodes a cluster worth looking at: every internal topic and every new
# topic has a copy on each node, so one node down leaves partitions under-replicated
# rather than offline; and the internal topics have a partition led by each node, so
# groups and transactions are coordinated by all three, not all by one.
CLUSTER_CONFIG: Mapping[str, str] = {
    **TEST_BROKER_CONFIG,
    "offsets.topic.num.partitions": "3",
    "transaction.state.log.num.partitions": "3",
    "share.coordinator.state.topic.num.partitions": "3",
    "offsets.topic.replication.factor": "3",
    "transaction.state.log.replication.factor": "3",
    "transaction.state.log.min.isr": "2",
    "share.coordinator.state.topic.replication.factor": "3",
    "share.coordinator.state.topic.min.isr": "2",
    "default.replication.factor": "3",
    # A node that stops is noticed within seconds, not the default 9 s + 30 s.
    "broker.session.timeout.ms": "6000",
    "broker.heartbeat.interval.ms": "1000",
    "replica.lag.time.max.ms": "6000",
    "num.network.threads": "1",
    "num.io.threads": "2",
    "num.replica.fetchers": "1",
    "background.threads": "1",
}


@dataclass
class ClusterNode:
    """One combined broker + controller. `process` is None while the node is stopped."""

    node_id: int
    rack: str
    port: int
    controller_port: int
    run_dir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.run_dir / "kafka.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class KafkaCluster:
    """A running three-node cluster; `bootstrap` lists every node."""

    nodes: list[ClusterNode]
    jvm_flags: Sequence[str]
    kind: str = "kafka"

    @property
    def bootstrap(self) -> str:
        return ",".join(node.address for node in self.nodes)

    def node(self, node_id: int) -> ClusterNode:
        return next(n for n in self.nodes if n.node_id == node_id)

    def stop_node(self, node_id: int, timeout: float = 30.0) -> None:
        """Controlled shutdown of one node; the others keep serving."""
        node = self.node(node_id)
        if node.process is not None:
            stop_process_group(node.process, timeout)
        node.process = None

    def start_node(self, node_id: int, startup_timeout: float = 120.0) -> None:
        """Start a stopped node on its data and ports; returns once it answers Metadata."""
        node = self.node(node_id)
        if node.running:
            return
        _spawn(node, self.jvm_flags)
        _await(node, startup_timeout)

    def stop(self, timeout: float = 30.0) -> None:
        for node in self.nodes:
            if node.process is not None:
                stop_process_group(node.process, timeout)
                node.process = None


def properties(node: ClusterNode, voters: str, extra: Mapping[str, str]) -> str:
    props = {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "broker.rack": node.rack,
        "listeners": (
            f"PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}"
        ),
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.quorum.voters": voters,
        "log.dirs": str(node.run_dir / "logs"),
        **CLUSTER_CONFIG,
        **extra,
    }
    return "".join(f"{key}={value}\n" for key, value in props.items())


def start_cluster(
    data_dir: Path,
    *,
    extra_config: Mapping[str, str] | None = None,
    jvm_flags: Sequence[str] = CLUSTER_JVM_FLAGS,
    startup_timeout: float = 180.0,
) -> KafkaCluster:
    """Format and start three nodes under `data_dir`; returns once every node answers.

    Raises KafkaUnavailable with the failing node's log when one does not come up.
    """
    classpath()
    ports: set[int] = set()
    while len(ports) < 2 * NODES:
        ports.add(free_port())
    chosen = sorted(ports)
    nodes = [
        ClusterNode(
            node_id=i + 1,
            rack=f"rack-{'abc'[i]}",
            port=chosen[2 * i],
            controller_port=chosen[2 * i + 1],
            run_dir=data_dir / f"node{i + 1}",
        )
        for i in range(NODES)
    ]
    voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in nodes)
    cluster_id = _cluster_id()
    for node in nodes:
        node.run_dir.mkdir(parents=True, exist_ok=True)
        (node.run_dir / "server.properties").write_text(
            properties(node, voters, extra_config or {})
        )
    with ThreadPoolExecutor(NODES) as pool:
        list(pool.map(lambda n: _format(n, cluster_id), nodes))
    cluster = KafkaCluster(nodes, jvm_flags)
    try:
        for node in nodes:
            _spawn(node, jvm_flags)
        for node in nodes:
            _await(node, startup_timeout)
    except BaseException:
        cluster.stop(timeout=10)
        raise
    return cluster


def _cluster_id() -> str:
    # As Kafka's Uuid.randomUuid: URL-safe base64, never starting with "-" (the storage
    # tool's argument parser would read it as an option).
    cluster_id = "-"
    while cluster_id.startswith("-"):
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
    return cluster_id


def _format(node: ClusterNode, cluster_id: str) -> None:
    config = node.run_dir / "server.properties"
    formatted = subprocess.run(
        java_command("kafka.tools.StorageTool", ["format", "-t", cluster_id, "-c", str(config)]),
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    (node.run_dir / "format.log").write_text(formatted.stdout + formatted.stderr)
    if formatted.returncode != 0:
        raise KafkaUnavailable(
            f"kafka-storage format of node {node.node_id} failed ({formatted.returncode}):\n"
            f"{formatted.stdout}\n{formatted.stderr}"
        )


def _spawn(node: ClusterNode, jvm_flags: Sequence[str]) -> None:
    with node.log_path.open("ab") as log:
        # Its own session: stop() reaches the whole group, Ctrl-C on pytest does not.
        node.process = subprocess.Popen(
            java_command("kafka.Kafka", [str(node.run_dir / "server.properties")], jvm_flags),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=node.run_dir,
        )


def _await(node: ClusterNode, startup_timeout: float) -> None:
    from confluent_kafka.admin import AdminClient

    deadline = time.monotonic() + startup_timeout
    admin = AdminClient({"bootstrap.servers": node.address, "log_level": 0})
    while time.monotonic() < deadline:
        if node.process is None or node.process.poll() is not None:
            break
        try:
            metadata = admin.list_topics(timeout=3)
        except Exception:
            metadata = None
        # Answering is not enough: the node must see itself registered and unfenced.
        if metadata is not None and node.node_id in metadata.brokers:
            return
        time.sleep(0.3)  # polling a starting JVM, not waiting for time to pass
    code = node.process.poll() if node.process is not None else None
    raise KafkaUnavailable(
        f"node {node.node_id} did not answer on {node.address} within {startup_timeout:.0f}s "
        f"(exit code {code}); log tail:\n{node.log_tail()}"
    )
