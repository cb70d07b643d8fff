"""Odradek next to Apache Kafka 4.4 on this machine: the same loads, one run, both figures.

Starts a real single-node Apache Kafka (KRaft, -Xmx512m, G1, fully JIT-compiled) and a
real Odradek (`python -m logstore serve`, fresh data dir), then runs each load against
both, alternating which goes first each round, and prints records/s, MB/s and the ratio
Odradek/Kafka (best round of each). Loads, each a few seconds at the default sizes:

  kcat produce (acks=all) and kcat consume (-e, from the beginning);
  confluent-kafka produce (acks=all) and consume (assign, no group);
  Kafka's ProducerPerformance (Java client, acks=all) and ConsumerPerformance (group).

Note on durability: Kafka acknowledges acks=all once the leader (the only replica) has
the write in its page cache; Odradek's default `--fsync always` acknowledges after an
fsync. Run with `--fsync never` for the like-for-like figure; both are worth knowing.

    .venv/bin/python bench/vs_kafka.py [--records 200000] [--size 100] [--rounds 2]
                                       [--fsync always|interval|never]

`--sasl-ssl` runs the same loads over SASL_SSL (PLAIN, a throwaway CA) as well as
over PLAINTEXT, on each broker's two listeners, and prints Odradek/Kafka over TLS and each
broker's TLS/plaintext ratio.

Last, the CPU each load cost per MB, the client side's beside the broker's (medians): the
clients share the machine's cores with the broker, so a figure the client's CPU limits
says little about the broker.

`--replay` runs only catch-up replays instead (`bench/vs_kafka_replay.py` says which),
for each of `--sizes` (default 100 and 1024 B) and `--partitions` (default 1 and 1000).

`--pin` puts the brokers on one CPU and this bench with every client it starts on the
other, for either kind of run: a client that needs a whole core then cannot take the
broker's, and the figures say what each side does with one core.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from bench.cpu import client_cpu_seconds, pin_apart, process_cpu_seconds  # noqa: E402
from bench.secure import Secure, kafka_settings, make_certs, odradek_sasl_ssl  # noqa: E402
from reference.launcher import BENCH_JVM_FLAGS, java_command, start_kafka  # noqa: E402
from tests.broker_fixture import start_broker  # noqa: E402

TOOL_FLAGS = ("-Xmx512m", "-XX:+UseG1GC")
LOAD_TIMEOUT = 300.0

# A load takes (bootstrap, topic) and returns elapsed seconds for the whole load; a
# "fill" load must run first on a topic the consume loads then read.
Load = Callable[[str, str], float]
# SASL_SSL addresses and their client settings (--sasl-ssl); PLAINTEXT ones have none.
SECURE: Secure | None = None


@dataclass(frozen=True)
class Spent:
    """CPU seconds one load cost: the client side (see `client_cpu_seconds`) and the broker."""

    client: float
    broker: float


def client_settings(bootstrap: str) -> dict[str, str]:
    return SECURE.settings(bootstrap) if SECURE is not None else {}


def kcat_security(bootstrap: str) -> list[str]:
    return SECURE.kcat_args(bootstrap) if SECURE is not None else []


def java_security(bootstrap: str) -> list[str]:
    if SECURE is None or bootstrap not in SECURE.java:
        return []
    return ["--command-config", str(SECURE.java[bootstrap])]


def create_topic(bootstrap: str, topic: str) -> None:
    admin = AdminClient(
        {"bootstrap.servers": bootstrap, "log_level": 3, **client_settings(bootstrap)}
    )
    futures = admin.create_topics([NewTopic(topic, 1, 1)], operation_timeout=30)
    futures[topic].result(timeout=30)


def record_file(directory: Path, count: int, size: int) -> Path:
    """`count` lines of `size` bytes each (kcat drops the newline: values are `size` B)."""
    path = directory / f"records-{count}-{size}.txt"
    path.write_bytes((b"v" * size + b"\n") * count)
    return path


def kcat_produce(path: Path) -> Load:
    def run(bootstrap: str, topic: str) -> float:
        cmd = [
            "kcat", "-P", "-b", bootstrap, "-t", topic, "-p", "0", "-l", str(path),
            "-X", "linger.ms=5", "-X", "batch.size=1000000", "-X", "acks=all",
            "-X", "queue.buffering.max.messages=2000000",
            "-X", "queue.buffering.max.kbytes=2097151", *kcat_security(bootstrap),
        ]  # fmt: skip
        start = time.perf_counter()
        subprocess.run(cmd, check=True, timeout=LOAD_TIMEOUT, capture_output=True)
        return time.perf_counter() - start

    return run


def kcat_consume(count: int) -> Load:
    def run(bootstrap: str, topic: str) -> float:
        cmd = [
            "kcat", "-C", "-b", bootstrap, "-t", topic, "-p", "0", "-o", "beginning",
            "-e", "-q", "-c", str(count), "-f", "%o\\n", *kcat_security(bootstrap),
        ]  # fmt: skip
        start = time.perf_counter()
        done = subprocess.run(cmd, check=True, timeout=LOAD_TIMEOUT, capture_output=True)
        elapsed = time.perf_counter() - start
        got = done.stdout.count(b"\n")
        assert got == count, f"kcat read {got} of {count}"
        return elapsed

    return run


def python_produce(count: int, size: int) -> Load:
    def run(bootstrap: str, topic: str) -> float:
        producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "acks": "all",
                "linger.ms": 5,
                "batch.size": 1_000_000,
                "queue.buffering.max.messages": 2_000_000,
                "queue.buffering.max.kbytes": 2_097_151,
                **client_settings(bootstrap),
            }
        )
        value = b"v" * size
        start = time.perf_counter()
        for _ in range(count):
            producer.produce(topic, value, partition=0)
            producer.poll(0)
        remaining = producer.flush(LOAD_TIMEOUT)
        elapsed = time.perf_counter() - start
        assert remaining == 0
        return elapsed

    return run


def python_consume(count: int) -> Load:
    def run(bootstrap: str, topic: str) -> float:
        consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"bench-{uuid.uuid4().hex[:6]}",
                "enable.auto.commit": False,
                "fetch.max.bytes": 52_428_800,
                "max.partition.fetch.bytes": 10_485_760,
                **client_settings(bootstrap),
            }
        )
        return drain(consumer, topic, count)

    return run


def drain(consumer: Consumer, topic: str, count: int, partitions: int = 1) -> float:
    """Seconds for `consumer` to read `count` records from the start of the topic's first
    `partitions` partitions (assign, no group)."""
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got = 0
    start = time.perf_counter()
    deadline = start + LOAD_TIMEOUT
    while got < count and time.perf_counter() < deadline:
        got += len(consumer.consume(10_000, 1.0))
    elapsed = time.perf_counter() - start
    consumer.close()
    assert got >= count, f"consumed {got} of {count}"
    return elapsed


def producer_performance(count: int, size: int) -> Load:
    def run(bootstrap: str, topic: str) -> float:
        args = [
            "--topic", topic, "--num-records", str(count), "--record-size", str(size),
            "--throughput", "-1", "--producer-props", f"bootstrap.servers={bootstrap}",
            "acks=all", "linger.ms=5", "batch.size=1000000", *java_security(bootstrap),
        ]  # fmt: skip
        cmd = java_command("org.apache.kafka.tools.ProducerPerformance", args, TOOL_FLAGS)
        done = subprocess.run(cmd, check=True, timeout=LOAD_TIMEOUT, capture_output=True, text=True)
        # Final line: "N records sent, R records/sec (M MB/sec), ..."; its own timing
        # excludes JVM start, so convert its rate back to seconds for this load.
        match = re.findall(r"(\d+) records sent, ([\d.]+) records/sec", done.stdout)
        assert match, done.stdout[-2000:] + done.stderr[-2000:]
        sent, rate = match[-1]
        assert int(sent) == count
        return count / float(rate)

    return run


def consumer_performance(count: int) -> Load:
    def run(bootstrap: str, topic: str) -> float:
        args = [
            "--bootstrap-server", bootstrap, "--topic", topic, "--messages", str(count),
            "--timeout", "30000", "--group", f"perf-{uuid.uuid4().hex[:6]}",
            *java_security(bootstrap),
        ]  # fmt: skip
        cmd = java_command("org.apache.kafka.tools.ConsumerPerformance", args, TOOL_FLAGS)
        done = subprocess.run(cmd, check=True, timeout=LOAD_TIMEOUT, capture_output=True, text=True)
        # CSV: start, end, MB, MB/s, nMsg, nMsg/s, rebalance ms, fetch ms, fetch MB/s,
        # fetch nMsg/s. The fetch figures exclude the group join; use them.
        rows = [line for line in done.stdout.splitlines() if re.match(r"\d{4}-", line)]
        assert rows, done.stdout[-2000:] + done.stderr[-2000:]
        fields = [f.strip() for f in rows[-1].split(",")]
        consumed, fetch_rate = int(fields[4]), float(fields[9])
        assert consumed >= count, f"ConsumerPerformance read {consumed} of {count}"
        return count / fetch_rate

    return run


def measured(load: Load, bootstrap: str, topic: str, broker_pid: int) -> tuple[float, Spent]:
    """Run `load`; its seconds and the CPU it cost the client side and the broker."""
    client, broker = client_cpu_seconds(), process_cpu_seconds(broker_pid)
    took = load(bootstrap, topic)
    spent = Spent(client_cpu_seconds() - client, process_cpu_seconds(broker_pid) - broker)
    return took, spent


def _print_cpu(spent: dict[str, dict[str, list[Spent]]], mb: float) -> None:
    kinds = list(next(iter(spent.values())))
    print(
        "\nCPU ms per MB moved, client / broker, median of the rounds (client: this process "
        "and the tools it ran, a JVM's start and JIT included; broker: the broker process)"
    )
    print(f"{'load':34} " + " ".join(f"{kind:>17}" for kind in kinds))
    for name, by_kind in spent.items():
        cells = []
        for kind in kinds:
            client = statistics.median(s.client for s in by_kind[kind]) * 1000 / mb
            broker = statistics.median(s.broker for s in by_kind[kind]) * 1000 / mb
            cells.append(f"{client:7.1f} / {broker:5.2f}")
        print(f"{name:34} " + " ".join(f"{cell:>17}" for cell in cells))


def _print_tls(results: dict[str, dict[str, list[float]]], count: int, size: int) -> None:
    print(f"\nover SASL_SSL (PLAIN, TLS 1.3): {count} records of {size} B")
    print(f"{'load':34} {'Kafka rec/s':>12} {'Odradek rec/s':>14} {'O/K':>6} "
          f"{'K TLS/plain':>12} {'O TLS/plain':>12}")  # fmt: skip
    for name, by_kind in results.items():
        rate = {kind: count / min(times) for kind, times in by_kind.items()}
        print(
            f"{name:34} {rate['kafka TLS']:12,.0f} {rate['odradek TLS']:14,.0f} "
            f"{rate['odradek TLS'] / rate['kafka TLS']:6.2f} "
            f"{rate['kafka TLS'] / rate['kafka']:12.0%} "
            f"{rate['odradek TLS'] / rate['odradek']:12.0%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--fsync", default="always", choices=("always", "interval", "never"))
    parser.add_argument("--replay", action="store_true", help="replay loads only (see above)")
    parser.add_argument("--sasl-ssl", action="store_true", help="also over SASL_SSL (see above)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1024])
    parser.add_argument("--partitions", type=int, nargs="+", default=[1, 1000])
    parser.add_argument(
        "--pin",
        action="store_true",
        help="brokers on one CPU, this bench and its clients on another",
    )
    args = parser.parse_args()
    if args.replay:
        # Imported here: the replay module builds on this one's loads.
        from bench.vs_kafka_replay import replay_main

        replay_main(args)
        return
    count, size = args.records, args.size

    with tempfile.TemporaryDirectory(prefix="vs-kafka-") as tmp:
        work = Path(tmp)
        path = record_file(work, count, size)
        if args.sasl_ssl:
            global SECURE
            SECURE = Secure(make_certs(work / "ca"))
            config, listeners, format_args = kafka_settings(SECURE.certs)
            kafka = start_kafka(
                work / "kafka",
                jvm_flags=BENCH_JVM_FLAGS,
                extra_config=config,
                extra_listeners=listeners,
                format_args=format_args,
            )
            odradek = odradek_sasl_ssl(work / "odradek", SECURE.certs, args.fsync)
        else:
            kafka = start_kafka(work / "kafka", jvm_flags=BENCH_JVM_FLAGS)
            odradek = start_broker(work / "odradek", args=("--fsync", args.fsync))
        targets = {"kafka": kafka.bootstrap, "odradek": odradek.bootstrap}
        pids = {"kafka": kafka.process.pid, "odradek": odradek.pid}
        if SECURE is not None:
            targets["kafka TLS"] = SECURE.add(f"127.0.0.1:{kafka.ports['SASL_SSL']}", work)
            targets["odradek TLS"] = SECURE.add(f"127.0.0.1:{odradek.ports['SASL_SSL']}", work)
            pids |= {"kafka TLS": kafka.process.pid, "odradek TLS": odradek.pid}
        if args.pin:
            pin_apart([kafka.process.pid, odradek.pid])
        try:
            # (label, producing load, consuming loads reading what it wrote)
            suites: list[tuple[str, Load, list[tuple[str, Load]]]] = [
                ("kcat", kcat_produce(path), [("kcat consume", kcat_consume(count))]),
                (
                    "confluent-kafka",
                    python_produce(count, size),
                    [("confluent-kafka consume", python_consume(count))],
                ),
                (
                    "ProducerPerformance",
                    producer_performance(count, size),
                    [("ConsumerPerformance", consumer_performance(count))],
                ),
            ]
            results: dict[str, dict[str, list[float]]] = {}
            spent: dict[str, dict[str, list[Spent]]] = {}
            for round_no in range(args.rounds):
                order = list(targets)[:: 1 if round_no % 2 == 0 else -1]
                for label, produce_load, consume_loads in suites:
                    for kind in order:
                        topic = f"bench-{label.lower()}-{uuid.uuid4().hex[:8]}"
                        create_topic(targets[kind], topic)
                        loads = [(f"{label} produce acks=all", produce_load), *consume_loads]
                        for name, load in loads:
                            took, cost = measured(load, targets[kind], topic, pids[kind])
                            results.setdefault(name, {}).setdefault(kind, []).append(took)
                            spent.setdefault(name, {}).setdefault(kind, []).append(cost)
            print(
                f"\n{count} records of {size} B, best of {args.rounds} rounds; "
                f"Odradek --fsync {args.fsync}; Apache Kafka 4.4.0 -Xmx512m"
                + ("; brokers and clients pinned to separate CPUs" if args.pin else "")
            )
            print(f"{'load':34} {'Kafka rec/s':>12} {'Odradek rec/s':>14} {'MB/s K':>8} "
                  f"{'MB/s O':>8} {'O/K':>6}")  # fmt: skip
            for name, by_kind in results.items():
                k_rate = count / min(by_kind["kafka"])
                o_rate = count / min(by_kind["odradek"])
                mb = count * size / 1e6
                print(
                    f"{name:34} {k_rate:12,.0f} {o_rate:14,.0f} "
                    f"{mb / min(by_kind['kafka']):8.1f} {mb / min(by_kind['odradek']):8.1f} "
                    f"{o_rate / k_rate:6.2f}"
                )
            if SECURE is not None:
                _print_tls(results, count, size)
            _print_cpu(spent, count * size / 1e6)
            spread = {
                name: {k: statistics.pstdev(v) / statistics.mean(v) for k, v in d.items()}
                for name, d in results.items()
            }
            worst = max((v for d in spread.values() for v in d.values()), default=0.0)
            print(f"(largest round-to-round spread: {worst:.0%} of the mean)")
        finally:
            odradek.stop()
            kafka.stop()


if __name__ == "__main__":
    main()
