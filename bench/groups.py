"""Figures for the group coordinator and idempotent producing, against a real broker process.

Prints: synchronous OffsetCommit latency (p50/p99) and rate with fsync=always; time for
three classic consumers to balance a 6-partition topic and for two of them to take over
when one leaves; idempotent vs plain produce rate (the cost of the producer-state check).
Run: `.venv/bin/python bench/groups.py [--commits N] [--messages N]`. Prints figures only;
it asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def start_broker(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port_file = data_dir.parent / "port"
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "logstore", "serve", "--data-dir", str(data_dir),
            "--listen", "127.0.0.1:0", "--port-file", str(port_file),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while not port_file.exists():
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit("broker did not start")
        time.sleep(0.05)
    return proc, f"127.0.0.1:{port_file.read_text().strip()}"


def create_topic(bootstrap: str, partitions: int) -> str:
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(10)
    return topic


def bench_commits(bootstrap: str, n: int) -> None:
    topic = create_topic(bootstrap, 1)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4()}"})
    latencies = []
    start = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        consumer.commit(offsets=[TopicPartition(topic, 0, i + 1)], asynchronous=False)
        latencies.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - start
    consumer.close()
    q = statistics.quantiles(latencies, n=100)
    print(
        f"OffsetCommit (sync, fsync=always): {n / elapsed:,.0f} commits/s,"
        f" p50 {q[49]:.2f} ms, p99 {q[98]:.2f} ms"
    )


def bench_rebalance(bootstrap: str) -> None:
    topic = create_topic(bootstrap, 6)
    group = f"bench-{uuid.uuid4().hex[:8]}"
    conf = {"bootstrap.servers": bootstrap, "group.id": group, "heartbeat.interval.ms": 300}
    members = [Consumer(conf) for _ in range(3)]
    start = time.perf_counter()
    for c in members:
        c.subscribe([topic])

    def sizes() -> list[int]:
        return sorted(len(c.assignment()) for c in members)

    while sizes() != [2, 2, 2]:
        for c in members:
            c.poll(0.02)
    print(f"3 consumers balanced 6 partitions in {time.perf_counter() - start:.2f} s")
    start = time.perf_counter()
    members.pop().close()
    while sizes() != [3, 3]:
        for c in members:
            c.poll(0.02)
    print(f"2 consumers took over after a leave in {time.perf_counter() - start:.2f} s")
    for c in members:
        c.close()


def bench_produce(bootstrap: str, n: int, idempotent: bool) -> float:
    topic = create_topic(bootstrap, 3)
    producer = Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": idempotent, "linger.ms": 5}
    )
    value = b"x" * 100
    start = time.perf_counter()
    for i in range(n):
        while True:
            try:
                producer.produce(topic, value=value, partition=i % 3)
                break
            except BufferError:
                producer.poll(0.01)
    producer.flush(60)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, bootstrap = start_broker(Path(tmp) / "data")
        try:
            bench_commits(bootstrap, args.commits)
            bench_rebalance(bootstrap)
            plain = bench_produce(bootstrap, args.messages, idempotent=False)
            idem = bench_produce(bootstrap, args.messages, idempotent=True)
            print(
                f"produce 100 B records, acks=all: plain {plain:,.0f} msg/s,"
                f" idempotent {idem:,.0f} msg/s (ratio {idem / plain:.2f})"
            )
        finally:
            proc.terminate()
            proc.wait(20)


if __name__ == "__main__":
    main()
