"""Start and stop a real single-node Apache Kafka (KRaft, broker + controller in one JVM).

Owns the reference broker's process: its classpath (the jars that
`reference/fetch_kafka.sh` resolves into `.cache/kafka/libs`), its `server.properties`,
formatting the KRaft storage directory, waiting until it answers, and stopping its whole
process group. Used by the test fixtures (`tests/kafka_reference.py`) and the benchmarks
(`bench/vs_kafka.py`), and by the Java tool runners (`java_command`).

It must never skip or degrade quietly: a missing JVM or missing jars raise
`KafkaUnavailable` with the exact cause. It listens on 127.0.0.1 only and never talks to
anything else.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LIBS = REPO / ".cache" / "kafka" / "libs"
FETCH_SCRIPT = REPO / "reference" / "fetch_kafka.sh"
LOG4J_CONFIG = REPO / "reference" / "kafka" / "log4j2.yaml"
KAFKA_VERSION = "4.4.0"

# Settings that make a one-node cluster behave for tests: internal topics with one
# replica, no rebalance delay (a join must not wait 3 s), share groups on by default in 4.x.
TEST_BROKER_CONFIG: Mapping[str, str] = {
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "transaction.state.log.num.partitions": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "share.coordinator.state.topic.num.partitions": "1",
    "group.initial.rebalance.delay.ms": "0",
    # KIP-848 members heartbeat every 5 s by default, which is also how long a join
    # takes to be noticed; 1 s keeps consumer-protocol tests short.
    "group.consumer.min.heartbeat.interval.ms": "500",
    "group.consumer.heartbeat.interval.ms": "1000",
    "auto.create.topics.enable": "true",
    "num.partitions": "1",
    "default.replication.factor": "1",
    "delete.topic.enable": "true",
    # Few threads: the machine has two cores shared with other test runs.
    "num.network.threads": "2",
    "num.io.threads": "4",
    "background.threads": "2",
    "log.cleaner.threads": "1",
}

# Startup speed over peak speed: C1 only and the serial collector start the JVM in ~3 s
# and use less CPU, which matters on a shared 2-core machine. Benchmarks pass
# BENCH_JVM_FLAGS instead so the broker runs fully JIT-compiled.
TEST_JVM_FLAGS: Sequence[str] = (
    "-Xms128m",
    "-Xmx512m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Xss512k",
)
BENCH_JVM_FLAGS: Sequence[str] = (
    "-Xms512m",
    "-Xmx512m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
)
TOOL_JVM_FLAGS: Sequence[str] = ("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")


class KafkaUnavailable(RuntimeError):
    """The reference broker cannot run here; the message says exactly why."""


def java_binary() -> str:
    java = shutil.which("java")
    if java is None:
        raise KafkaUnavailable("no `java` on PATH: Apache Kafka needs a JVM (Java 17)")
    return java


def classpath() -> str:
    """The classpath of every resolved jar, or KafkaUnavailable naming the fix."""
    marker = LIBS / f"kafka_2.13-{KAFKA_VERSION}.jar"
    if not marker.is_file():
        raise KafkaUnavailable(
            f"{marker} is missing: run `{FETCH_SCRIPT.relative_to(REPO)}` "
            "(Maven resolves Apache Kafka into .cache/kafka/libs)"
        )
    return str(LIBS / "*")


def java_command(main_class: str, args: Sequence[str], jvm_flags: Sequence[str] = ()) -> list[str]:
    """A `java` command line running `main_class` from the Kafka classpath."""
    return [
        java_binary(),
        *(jvm_flags or TOOL_JVM_FLAGS),
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
        "-cp",
        classpath(),
        main_class,
        *args,
    ]


def free_port() -> int:
    # Kafka's controller address must be known before it starts (it is written into the
    # formatted metadata), so port 0 cannot be passed through; the start is retried if
    # another process takes the port in between.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class KafkaBroker:
    """A running reference broker. `bootstrap` is "127.0.0.1:PORT"."""

    data_dir: Path
    port: int
    controller_port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    # The SASL_PLAINTEXT listener's port (SCRAM-SHA-256/512), when started with one.
    sasl_port: int | None = None
    kind: str = field(default="kafka", init=False)
    # Listeners besides PLAINTEXT (start_kafka's extra_listeners): name -> port.
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def sasl_bootstrap(self) -> str:
        if self.sasl_port is None:
            raise KafkaUnavailable("this broker was started without a SASL_PLAINTEXT listener")
        return f"127.0.0.1:{self.sasl_port}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the process group (controlled shutdown), SIGKILL it if that stalls."""
        stop_process_group(self.process, timeout)


def stop_process_group(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)


def sasl_listener_properties(port: int, sasl_port: int, controller_port: int) -> dict[str, str]:
    """A SASL_PLAINTEXT listener with SCRAM beside the PLAINTEXT one (which stays the
    inter-broker listener, so the broker's own principal is User:ANONYMOUS)."""
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    return {
        "listeners": f"PLAINTEXT://127.0.0.1:{port},SASL_PLAINTEXT://127.0.0.1:{sasl_port},"
        f"CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port},"
        f"SASL_PLAINTEXT://127.0.0.1:{sasl_port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,"
        "CONTROLLER:PLAINTEXT",
        "sasl.enabled.mechanisms": "SCRAM-SHA-256,SCRAM-SHA-512",
        "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config": scram,
        "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": scram,
    }


def server_properties(
    data_dir: Path,
    port: int,
    controller_port: int,
    extra: Mapping[str, str],
    extra_listeners: Mapping[str, tuple[str, int]] | None = None,
    sasl_port: int | None = None,
) -> str:
    """`extra_listeners`: name -> (security protocol, port), beside PLAINTEXT (which stays
    the inter-broker listener and the one readiness is checked on)."""
    more = extra_listeners or {}
    listeners = "".join(f",{name}://127.0.0.1:{p}" for name, (_, p) in more.items())
    protocols = "".join(f",{name}:{protocol}" for name, (protocol, _) in more.items())
    sasl = {} if sasl_port is None else sasl_listener_properties(port, sasl_port, controller_port)
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "listeners": (
            f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}{listeners}"
        ),
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}{listeners}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": (f"PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT{protocols}"),
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{controller_port}",
        "log.dirs": str(data_dir / "logs"),
        **TEST_BROKER_CONFIG,
        **sasl,
        **extra,
    }
    return "".join(f"{key}={value}\n" for key, value in props.items())


def _format_storage(config_path: Path, log_path: Path, format_args: Sequence[str] = ()) -> None:
    # A Kafka cluster id is a UUID in URL-safe base64 without padding (what
    # `kafka-storage random-uuid` prints); making it here saves a JVM start.
    # Like Kafka's Uuid.randomUuid, never start with "-": the tool's argument parser
    # would read such an id as an option (1 start in 64 failed before this).
    cluster_id = "-"
    while cluster_id.startswith("-"):
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
    args = ["format", "--standalone", "-t", cluster_id, "-c", str(config_path), *format_args]
    formatted = subprocess.run(
        java_command("kafka.tools.StorageTool", args),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    log_path.write_text(formatted.stdout + formatted.stderr)
    if formatted.returncode != 0:
        raise KafkaUnavailable(
            f"kafka-storage format failed ({formatted.returncode}):\n"
            f"{formatted.stdout}\n{formatted.stderr}"
        )


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _answers(bootstrap: str) -> bool:
    # Imported here so the launcher can be loaded (e.g. to build classpaths) without it.
    from confluent_kafka.admin import AdminClient

    # log_level 0: a broker still starting refuses connections; that is expected here.
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    try:
        metadata = admin.list_topics(timeout=5)
    except Exception:
        return False
    return bool(metadata.brokers)


def start_kafka(
    data_dir: Path,
    *,
    extra_config: Mapping[str, str] | None = None,
    jvm_flags: Sequence[str] = TEST_JVM_FLAGS,
    startup_timeout: float = 90.0,
    attempts: int = 3,
    extra_listeners: Mapping[str, str] | None = None,
    format_args: Sequence[str] = (),
    sasl_listener: bool = False,
) -> KafkaBroker:
    """Format `data_dir` and start a broker there; returns once clients get Metadata.
    `sasl_listener` adds a SASL_PLAINTEXT listener with SCRAM (`KafkaBroker.sasl_bootstrap`).

    `extra_listeners`: name -> security protocol of listeners besides PLAINTEXT (their
    ports land in `KafkaBroker.ports`); `format_args`: more `kafka-storage format`
    arguments, e.g. `--add-scram SCRAM-SHA-256=[name=alice,password=secret]`.
    Raises KafkaUnavailable with the broker's own log when it does not come up.
    """
    java_binary()
    classpath()
    failure = ""
    for attempt in range(attempts):
        run_dir = data_dir / f"run{attempt}"
        run_dir.mkdir(parents=True, exist_ok=True)
        port, controller_port = free_port(), free_port()
        while controller_port == port:
            controller_port = free_port()
        more = {name: (protocol, free_port()) for name, protocol in (extra_listeners or {}).items()}
        sasl_port = None
        while sasl_listener and sasl_port in (None, port, controller_port):
            sasl_port = free_port()
        config_path = run_dir / "server.properties"
        config_path.write_text(
            server_properties(run_dir, port, controller_port, extra_config or {}, more, sasl_port)
        )
        _format_storage(config_path, run_dir / "format.log", format_args)
        broker, failure = _launch(run_dir, port, controller_port, jvm_flags, startup_timeout)
        if broker is not None:
            broker.ports = {name: p for name, (_, p) in more.items()}
            broker.sasl_port = sasl_port
            return broker
        if "Address already in use" not in failure:
            break
    raise KafkaUnavailable(failure)


def _launch(
    run_dir: Path,
    port: int,
    controller_port: int,
    jvm_flags: Sequence[str],
    startup_timeout: float,
) -> tuple[KafkaBroker | None, str]:
    """Start the JVM on a formatted `run_dir`: (the broker, "") once it answers, else
    (None, why) with the process stopped."""
    log_path = run_dir / "kafka.log"
    with log_path.open("ab") as log:
        # A new session makes the JVM a process-group leader, so stop() reaches every
        # child it might spawn, and Ctrl-C on pytest does not kill it mid-write.
        process = subprocess.Popen(
            java_command("kafka.Kafka", [str(run_dir / "server.properties")], jvm_flags),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=run_dir,
        )
    broker = KafkaBroker(run_dir, port, controller_port, process, log_path)
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if _accepts(port) and _answers(broker.bootstrap):
            return broker, ""
        time.sleep(0.2)  # polling a starting JVM, not waiting for time to pass
    broker.stop(timeout=10)
    return None, (
        f"Apache Kafka did not answer on {broker.bootstrap} within {startup_timeout:.0f}s "
        f"(exit code {process.returncode}); log tail:\n{broker.log_tail()}"
    )


def crash_kafka(broker: KafkaBroker) -> None:
    """SIGKILL the broker's process group: no controlled shutdown, no final checkpoints."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(broker.process.pid, signal.SIGKILL)
    broker.process.wait(timeout=30)


def restart_kafka(
    broker: KafkaBroker,
    *,
    kill: bool = False,
    jvm_flags: Sequence[str] = TEST_JVM_FLAGS,
    startup_timeout: float = 90.0,
) -> KafkaBroker:
    """Stop `broker` if it runs and start it again on the same data dir, ports and config
    (the log file is appended to). `kill` stops it as `crash_kafka` does. Raises
    KafkaUnavailable if it does not come back."""
    if kill:
        crash_kafka(broker)
    else:
        broker.stop()
    restarted, failure = _launch(
        broker.data_dir, broker.port, broker.controller_port, jvm_flags, startup_timeout
    )
    if restarted is None:
        raise KafkaUnavailable(failure)
    return restarted
