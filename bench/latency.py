"""End-to-end latency at a steady rate: produce with confluent-kafka in this process,
consume with confluent-kafka (assign, no group) in a child process, and report p50/p99 of
(consumer receipt - producer send) wall-clock time.

Runs against Odradek and the mock cluster, same clients, same rate (default 10,000
records/s of 100 bytes, acks=1, linger.ms=0, fetch.wait.max.ms=100 / fetch.min.bytes=1 so
a long poll answers as soon as data lands). The producer is paced in 1 ms ticks.

    .venv/bin/python bench/latency.py [--rate 10000] [--seconds 5] [--acks 1]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import struct
import time
from multiprocessing.connection import Connection

from confluent_kafka import Consumer, Producer, TopicPartition
from produce import MockCluster, odradek, topic_name  # type: ignore[import-not-found]

_STAMP = struct.Struct(">d")


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
    consumer.assign([TopicPartition(topic, 0, 1)])
    latencies: list[float] = []
    out.send("ready")
    deadline = time.monotonic() + timeout_s
    while len(latencies) < total and time.monotonic() < deadline:
        # poll() hands over each message as soon as it is there; consume(n) would wait for
        # n messages or its timeout and measure the batching, not the broker.
        msg = consumer.poll(0.1)
        if msg is not None and msg.error() is None:
            latencies.append(time.time() - _STAMP.unpack_from(msg.value())[0])
    consumer.close()
    out.send(latencies)


def measure(bootstrap: str, rate: int, seconds: float, acks: str) -> list[float]:
    topic = topic_name("lat")
    producer = Producer(
        {"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": acks, "socket.nagle.disable": True}
    )
    producer.produce(topic, b"\0" * 100, partition=0)  # creates the topic, offset 0
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


def summary(label: str, latencies: list[float]) -> None:
    ms = sorted(x * 1000 for x in latencies)
    p50 = statistics.median(ms)
    p99 = ms[int(len(ms) * 0.99) - 1]
    print(f"{label:<10} n={len(ms):>7,} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  max {ms[-1]:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--acks", default="1")
    args = parser.parse_args()
    mock = MockCluster()
    with odradek() as broker:
        print(f"{args.rate:,} records/s for {args.seconds}s, acks={args.acks}, 100-byte records")
        for _ in range(2):
            summary("odradek", measure(broker.bootstrap, args.rate, args.seconds, args.acks))
            summary("mock", measure(mock.bootstrap, args.rate, args.seconds, args.acks))


if __name__ == "__main__":
    main()
