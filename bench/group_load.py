"""A consumer group of many members over many partitions under a steady produce load,
Odradek next to Apache Kafka 4.4 in one run.

For each broker: a topic of `--partitions` partitions; `--members` consumer processes in
one group (confluent-kafka, default settings, subscribe); once the group has assigned
every partition, one producer process sends `--size` B records at `--rate` MB/s for
`--seconds` (confluent-kafka, default settings, no key), each record carrying the time
it was produced. Every member records produce-to-consume latency per record.
Prints, per broker and as the Odradek/Kafka ratio: records and MB delivered, broker CPU
seconds per MB delivered (utime+stime of the broker process from /proc over the produce
window; for Kafka its JVM), end-to-end latency p50/p99/max, and how long the group took
from the first member's start to every partition assigned.

    .venv/bin/python bench/group_load.py [--partitions 1000] [--members 10] [--rate 20]
        [--seconds 30] [--size 1024] [--fsync always|interval|never]

Everything runs on this machine: with two cores, the members and the producer compete
with the broker, so on a small machine lower --rate or --members and say so.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import struct
import sys
import tempfile
import time
import uuid
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from confluent_kafka import Consumer, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from bench.cpu import process_cpu_seconds as cpu_seconds  # noqa: E402
from reference.launcher import BENCH_JVM_FLAGS, start_kafka  # noqa: E402
from tests.broker_fixture import start_broker  # noqa: E402

STAMP = struct.Struct(">d")
TICK_S = 0.01
QUIET_S = 5.0  # a member stops once no record arrived for this long after the producer


@dataclass
class Result:
    records: int
    megabytes: float
    cpu_s_per_mb: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    assigned_s: float


def member(bootstrap: str, topic: str, group: str, ready: Any, done: Any, out: Any) -> None:
    """One group member: reports its assignment size, then latencies once `done` is set
    and no record has arrived for QUIET_S."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic], on_assign=lambda c, parts: ready.put(len(parts)))
    latencies = array("d")
    size = 0
    last = time.monotonic()
    while True:
        # Block for the first record only, then take what is already queued: a batch
        # call with a timeout would hold records back until the batch fills.
        first = consumer.poll(0.2)
        messages = [] if first is None else [first, *consumer.consume(1000, 0)]
        now = time.time()
        for message in messages:
            value = message.value()
            if message.error() or value is None:
                continue
            latencies.append(now - STAMP.unpack_from(value)[0])
            size += len(value)
        if messages:
            last = time.monotonic()
        elif done.is_set() and time.monotonic() - last > QUIET_S:
            break
    consumer.close()
    out.put((latencies.tobytes(), size))


def produce(bootstrap: str, topic: str, rate_mb: float, seconds: float, size: int) -> int:
    producer = Producer({"bootstrap.servers": bootstrap})
    padding = b"x" * (size - STAMP.size)
    per_tick = max(1, round(rate_mb * 1e6 * TICK_S / size))
    sent = 0
    start = time.monotonic()
    deadline = start + seconds
    tick = start
    while tick < deadline:
        for _ in range(per_tick):
            while True:
                try:
                    producer.produce(topic, STAMP.pack(time.time()) + padding)
                    break
                except BufferError:
                    producer.poll(0.01)
        sent += per_tick
        producer.poll(0)
        tick += TICK_S
        pause = tick - time.monotonic()
        if pause > 0:
            time.sleep(pause)  # pacing the load, not waiting for a result
    producer.flush(60)
    return sent


def run(bootstrap: str, pid: int, args: argparse.Namespace) -> Result:
    topic = f"group-load-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, args.partitions, 1)])[topic].result(120)
    ctx = mp.get_context("spawn")
    ready, out, done = ctx.Queue(), ctx.Queue(), ctx.Event()
    group = f"group-load-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    members = [
        ctx.Process(target=member, args=(bootstrap, topic, group, ready, done, out))
        for _ in range(args.members)
    ]
    for process in members:
        process.start()
    # Each rebalance reports every member's new assignment; the group is settled when
    # the latest report of every member adds up to all partitions.
    assigned_s = float("nan")
    latest: list[int] = []
    deadline = started + 300
    while time.monotonic() < deadline:
        latest.append(ready.get(timeout=300))
        if len(latest) >= args.members and sum(latest[-args.members :]) == args.partitions:
            assigned_s = time.monotonic() - started
            break
    cpu_before = cpu_seconds(pid)
    produce(bootstrap, topic, args.rate, args.seconds, args.size)
    cpu = cpu_seconds(pid) - cpu_before
    done.set()
    latencies = array("d")
    size = 0
    for _ in members:
        data, got = out.get(timeout=600)
        latencies.frombytes(data)
        size += got
    for process in members:
        process.join(30)
    ordered = sorted(latencies)
    megabytes = size / 1e6

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0

    return Result(
        records=len(ordered),
        megabytes=megabytes,
        cpu_s_per_mb=cpu / megabytes if megabytes else float("nan"),
        p50_ms=statistics.median(ordered) * 1000 if ordered else 0.0,
        p99_ms=at(0.99),
        max_ms=ordered[-1] * 1000 if ordered else 0.0,
        assigned_s=assigned_s,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--partitions", type=int, default=1000)
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--rate", type=float, default=20.0, help="MB/s produced")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--fsync", default="always", choices=("always", "interval", "never"))
    args = parser.parse_args()
    if args.size <= STAMP.size:
        parser.error(f"--size must be more than {STAMP.size}")
    results: dict[str, Result] = {}
    with tempfile.TemporaryDirectory(prefix="odradek-group-load-") as tmp:
        work = Path(tmp)
        kafka = start_kafka(work / "kafka", jvm_flags=BENCH_JVM_FLAGS)
        try:
            results["Kafka"] = run(kafka.bootstrap, kafka.process.pid, args)
        finally:
            kafka.stop()
        odradek = start_broker(work / "odradek", args=("--fsync", args.fsync))
        try:
            results["Odradek"] = run(odradek.bootstrap, odradek.pid, args)
        finally:
            odradek.stop()
    print(
        f"{args.members} members, {args.partitions} partitions, {args.rate} MB/s of "
        f"{args.size} B records for {args.seconds:.0f} s, confluent-kafka defaults; "
        f"Odradek --fsync {args.fsync}; load average {os.getloadavg()[0]:.2f}"
    )
    rows = (
        ("records delivered", "records", "{:,.0f}"),
        ("MB delivered", "megabytes", "{:,.1f}"),
        ("broker CPU s per MB", "cpu_s_per_mb", "{:.4f}"),
        ("latency p50 ms", "p50_ms", "{:.1f}"),
        ("latency p99 ms", "p99_ms", "{:.1f}"),
        ("latency max ms", "max_ms", "{:.1f}"),
        ("group assigned s", "assigned_s", "{:.2f}"),
    )
    print(f"{'':<22}{'Kafka':>14}{'Odradek':>14}{'O/K':>8}")
    for label, field, form in rows:
        k, o = getattr(results["Kafka"], field), getattr(results["Odradek"], field)
        ratio = o / k if k else float("nan")
        print(f"{label:<22}{form.format(k):>14}{form.format(o):>14}{ratio:>8.2f}")


if __name__ == "__main__":
    main()
