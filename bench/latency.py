"""End-to-end latency at a steady rate: produce with confluent-kafka in this process,
consume with confluent-kafka (assign, no group) in a child process, and report p50/p99 of
(consumer receipt - producer send) wall-clock time.

Runs against Odradek, librdkafka's mock cluster and (with --kafka) the reference Apache
Kafka, same clients, same rate (default 10,000 records/s of 100 bytes, acks=1,
linger.ms=0, fetch.wait.max.ms=100 / fetch.min.bytes=1 so a long poll answers as soon as
data lands). The producer is paced in 1 ms ticks.

Each target gets one unmeasured warm-up round first. A p99 of a few milliseconds is as much a property of the machine as of the broker: on a
shared VM the hypervisor can hold a runnable process for several ms. So the script first
measures that floor (how late a process that asks to sleep 1 ms wakes up, p99) and prints
it next to the figures, with the CPU steal time seen during each run.

    .venv/bin/python bench/latency.py [--rate 10000] [--seconds 5] [--acks 1] [--rounds 3]
                                      [--kafka] [--fsync always]
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import statistics
import struct
import tempfile
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TypeVar

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from produce import MockCluster, odradek, topic_name  # type: ignore[import-not-found]

_STAMP = struct.Struct(">d")
T = TypeVar("T")


def _consume(bootstrap: str, topic: str, total: int, timeout_s: float, out: Connection) -> None:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "bench-unused",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 100,
            "fetch.min.bytes": 1,
            "socket.nagle.disable": True,
        }
    )
    # Start at the priming record (offset 0) and signal ready only once it has arrived:
    # then metadata, leader epochs and the fetch session are settled before timing starts.
    consumer.assign([TopicPartition(topic, 0, 0)])
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        first = consumer.poll(0.1)
        if first is not None and first.error() is None:
            break
    latencies: list[float] = []
    out.send("ready")
    while len(latencies) < total and time.monotonic() < deadline:
        # poll() hands over each message as soon as it is there; consume(n) would wait for
        # n messages or its timeout and measure the batching, not the broker.
        msg = consumer.poll(0.1)
        if msg is not None and msg.error() is None:
            latencies.append(time.time() - _STAMP.unpack_from(msg.value())[0])
    consumer.close()
    out.send(latencies)


def measure(
    bootstrap: str, rate: int, seconds: float, acks: str, *, create: bool = True
) -> list[float]:
    topic = topic_name("lat")
    if create:  # the mock cluster has no CreateTopics; it creates topics on first use
        create_topic(bootstrap, topic)
    producer = Producer(
        {"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": acks, "socket.nagle.disable": True}
    )
    producer.produce(topic, b"\0" * 100, partition=0)  # offset 0
    producer.flush(30)
    total = int(rate * seconds)
    ours, theirs = mp.Pipe()
    child = mp.get_context("spawn").Process(
        target=_consume, args=(bootstrap, topic, total, seconds + 30, theirs)
    )
    child.start()
    ours.recv()
    time.sleep(1.0)  # let the consumer's first fetch park (bench only, never in tests)
    padding = b"\0" * (100 - _STAMP.size)
    start = time.perf_counter()
    sent = 0
    while sent < total:
        due = min(total, int((time.perf_counter() - start) * rate) + 1)
        while sent < due:
            producer.produce(topic, _STAMP.pack(time.time()) + padding, partition=0)
            sent += 1
        producer.poll(0)
        time.sleep(0.001)
    producer.flush(30)
    latencies: list[float] = ours.recv()
    child.join(10)
    if len(latencies) < total:
        raise RuntimeError(f"received {len(latencies)} of {total}")
    return latencies


def summary(label: str, latencies: list[float], steal: float) -> float:
    ms = sorted(x * 1000 for x in latencies)
    p50 = statistics.median(ms)
    p99 = ms[int(len(ms) * 0.99) - 1]
    print(
        f"{label:<10} n={len(ms):>7,} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  "
        f"max {ms[-1]:7.2f} ms  (cpu steal {steal:.0%})"
    )
    return p99


def _cpu_times() -> tuple[int, int]:
    """(steal, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    return fields[7], sum(fields)


def steal_during(run: Callable[[], T]) -> tuple[T, float]:
    before = _cpu_times()
    out = run()
    after = _cpu_times()
    total = after[1] - before[1]
    return out, (after[0] - before[0]) / total if total else 0.0


def wake_up_jitter(seconds: float = 3.0) -> tuple[float, float]:
    """(p50, p99) ms by which a 1 ms sleep overshoots on this machine right now."""
    late: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        time.sleep(0.001)
        late.append((time.perf_counter() - t0) * 1000 - 1.0)
    late.sort()
    return statistics.median(late), late[int(len(late) * 0.99) - 1]


def create_topic(bootstrap: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--acks", default="1")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fsync", default="always", choices=("always", "interval", "never"))
    parser.add_argument("--kafka", action="store_true", help="also the reference Apache Kafka")
    args = parser.parse_args()
    p50, p99 = wake_up_jitter()
    print(f"machine floor: a 1 ms sleep wakes up late by p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    print(f"{args.rate:,} records/s for {args.seconds}s, acks={args.acks}, 100-byte records")
    with contextlib.ExitStack() as stack:
        targets = {"odradek": stack.enter_context(odradek(args.fsync)).bootstrap}
        mock = MockCluster()  # the cluster lives as long as this handle
        targets["mock"] = mock.bootstrap
        if args.kafka:
            from reference.launcher import BENCH_JVM_FLAGS, start_kafka

            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="lat-kafka-"))
            kafka = start_kafka(Path(tmp), jvm_flags=BENCH_JVM_FLAGS)
            stack.callback(kafka.stop)
            targets["kafka"] = kafka.bootstrap
        # One unmeasured round each first: Kafka's JVM needs it to compile its hot paths
        # (its first round is ~1 s of latency), and it treats every target alike.
        for label, bootstrap in targets.items():
            measure(bootstrap, args.rate, 2.0, args.acks, create=label != "mock")
        p99s: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            for label, bootstrap in targets.items():
                latencies, steal = steal_during(
                    lambda b=bootstrap, mock=label == "mock": measure(
                        b, args.rate, args.seconds, args.acks, create=not mock
                    )
                )
                p99s.setdefault(label, []).append(summary(label, latencies, steal))
        print(
            "median p99 over rounds: "
            + ", ".join(f"{k} {statistics.median(v):.2f} ms" for k, v in p99s.items())
        )


if __name__ == "__main__":
    main()
