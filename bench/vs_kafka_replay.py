"""Catch-up replay, Odradek next to Apache Kafka (`bench/vs_kafka.py --replay`).

For each record size (`--sizes`, default 100 and 1024 B) and partition count
(`--partitions`, default 1 and 1000), one fill per broker, then reads of every record from
the beginning, alternating which broker goes first each round:

  kcat and confluent-kafka (assign, no group), each with the clients' default settings and
  with large local queues (queued.min.messages=10000000,
  queued.max.messages.kbytes=2000000);
  Kafka's ConsumerPerformance (Java client, group subscribe) with its default settings.
  The Java consumer keeps no prefetch queue to enlarge, so it has one row.

The one-partition fill is kcat's (default batching); a many-partition fill writes each
partition's share of the records in one contiguous run (confluent-kafka, linger 100 ms),
so both brokers store the same few batches per partition.

`--pin` puts each broker (every thread) on one CPU and the clients on another. Left free, the
scheduler moves the client between the broker's core and the other one, and where the
reader runs changes what a Fetch's sendfile costs the broker (the kernel delivers loopback
data in the sender's context) by up to five times (`docs/performance.md`, "Where a
one-partition replay's time goes"). Pinning takes that out; it does not take out
librdkafka's queue-full pause, which still decides the one-partition rows with default
settings.

Prints records/s per broker (the median round, and the best), the ratios Odradek/Kafka of
medians and of bests, every round's rate, and for kcat and confluent-kafka on one
partition the number of "queue full" fetch backoffs librdkafka logged (a count, robust to
load). The count needs librdkafka's fetch debugging, whose lines cost the client time on
every Fetch and shrink a faster broker's lead, so it comes from a second, untimed read
right after each timed one: it says how often that client pauses against that broker, not
how often the timed read did. A many-partition read logs a line per partition per Fetch,
so the count is taken on one partition only.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from bench.cpu import pin_apart
from bench.vs_kafka import (
    LOAD_TIMEOUT,
    Load,
    consumer_performance,
    drain,
    kcat_produce,
    record_file,
)
from reference.launcher import BENCH_JVM_FLAGS, start_kafka
from tests.broker_fixture import start_broker

# What librdkafka's fetch debug says when it skips a partition whose local queue is full.
QUEUE_FULL = "not fetchable: queued."
LARGE_QUEUES = {"queued.min.messages": "10000000", "queued.max.messages.kbytes": "2000000"}


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
    futures = admin.create_topics([NewTopic(topic, partitions, 1)], operation_timeout=30)
    futures[topic].result(timeout=30)


def fill_partitions(bootstrap: str, topic: str, count: int, size: int, partitions: int) -> None:
    """`count // partitions` records of `size` B into each partition, one partition at a time."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "linger.ms": 100,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": 2_000_000,
            "queue.buffering.max.kbytes": 2_097_151,
            "log_level": 3,
        }
    )
    value = b"v" * size
    for partition in range(partitions):
        for _ in range(count // partitions):
            while True:
                try:
                    producer.produce(topic, value, partition=partition)
                    break
                except BufferError:
                    producer.poll(0.05)
        producer.poll(0)
    assert producer.flush(LOAD_TIMEOUT) == 0, "fill did not finish"


def kcat_replay(count: int, partitions: int, settings: dict[str, str], backoffs: list[int]) -> Load:
    """kcat from the beginning with `settings`; on one partition, then reads again untimed
    with `-d fetch` and appends that read's backoff count (the debug lines cost kcat time
    on every Fetch, so the timed read goes without them)."""

    def read(bootstrap: str, topic: str, debug: list[str]) -> subprocess.CompletedProcess[bytes]:
        extra = [arg for key, value in settings.items() for arg in ("-X", f"{key}={value}")]
        # Without -p, kcat's simple consumer reads every partition.
        where = ["-p", "0"] if partitions == 1 else []
        cmd = [
            "kcat", "-C", "-b", bootstrap, "-t", topic, *where, *debug, "-o", "beginning",
            "-e", "-q", "-c", str(count), "-f", "%o\\n", *extra,
        ]  # fmt: skip
        done = subprocess.run(cmd, check=True, timeout=LOAD_TIMEOUT, capture_output=True)
        got = done.stdout.count(b"\n")
        assert got == count, f"kcat read {got} of {count}"
        return done

    def run(bootstrap: str, topic: str) -> float:
        start = time.perf_counter()
        read(bootstrap, topic, [])
        elapsed = time.perf_counter() - start
        if partitions == 1:
            counted = read(bootstrap, topic, ["-d", "fetch"])
            backoffs.append(counted.stderr.count(QUEUE_FULL.encode()))
        return elapsed

    return run


# librdkafka's debug lines from the untimed counting reads; kept out of the bench's output.
FETCH_LOG = logging.getLogger("bench.replay.fetch")
FETCH_LOG.propagate = False
FETCH_LOG.setLevel(logging.DEBUG)


class BackoffCounter(logging.Handler):
    """Counts librdkafka's queue-full fetch backoffs among the debug lines it logs."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if QUEUE_FULL in record.getMessage():
            self.count += 1


def python_replay(
    count: int, partitions: int, settings: dict[str, str], backoffs: list[int]
) -> Load:
    """confluent-kafka from the beginning of every partition (assign, no group); on one
    partition, then reads again untimed with `debug=fetch` and appends that read's backoff
    count, as `kcat_replay` does."""

    def consumer(bootstrap: str, extra: dict[str, Any]) -> Consumer:
        return Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"bench-{uuid.uuid4().hex[:6]}",
                "enable.auto.commit": False,
                "log_level": 3,
                **settings,
                **extra,
            }
        )

    def run(bootstrap: str, topic: str) -> float:
        elapsed = drain(consumer(bootstrap, {}), topic, count, partitions)
        if partitions == 1:
            counter = BackoffCounter()
            FETCH_LOG.addHandler(counter)
            try:
                debug = {"debug": "fetch", "log_level": 7, "logger": FETCH_LOG}
                drain(consumer(bootstrap, debug), topic, count)
            finally:
                FETCH_LOG.removeHandler(counter)
            backoffs.append(counter.count)
        return elapsed

    return run


def loads(count: int, partitions: int) -> list[tuple[str, Load, list[int] | None]]:
    """(label, load, the backoff counts it appends to or None), in the order run."""
    rows: list[tuple[str, Load, list[int] | None]] = []
    for label, settings in (("default", {}), ("large queues", LARGE_QUEUES)):
        counts: list[int] = []
        rows.append(
            (
                f"kcat {label}",
                kcat_replay(count, partitions, settings, counts),
                counts if partitions == 1 else None,
            )
        )
        counts = []
        rows.append(
            (
                f"confluent-kafka {label}",
                python_replay(count, partitions, settings, counts),
                counts if partitions == 1 else None,
            )
        )
    rows.append(("ConsumerPerformance default", consumer_performance(count), None))
    return rows


def replay_main(args: argparse.Namespace) -> None:
    count = args.records
    with tempfile.TemporaryDirectory(prefix="vs-kafka-replay-") as tmp:
        work = Path(tmp)
        kafka = start_kafka(work / "kafka", jvm_flags=BENCH_JVM_FLAGS)
        odradek = start_broker(work / "odradek", args=("--fsync", args.fsync))
        targets = {"kafka": kafka.bootstrap, "odradek": odradek.bootstrap}
        if args.pin:
            pin_apart([kafka.process.pid, odradek.pid])
        try:
            lines = []
            for size in args.sizes:
                path = record_file(work, count, size)
                for partitions in args.partitions:
                    assert count % partitions == 0, "--records must divide by each --partitions"
                    topics = {}
                    for kind, bootstrap in targets.items():
                        topics[kind] = f"bench-replay-{size}-{partitions}-{uuid.uuid4().hex[:8]}"
                        create_topic(bootstrap, topics[kind], partitions)
                        if partitions == 1:
                            kcat_produce(path)(bootstrap, topics[kind])
                        else:
                            fill_partitions(bootstrap, topics[kind], count, size, partitions)
                    for label, load, counts in loads(count, partitions):
                        rates: dict[str, list[float]] = {"kafka": [], "odradek": []}
                        per_kind: dict[str, list[int]] = {"kafka": [], "odradek": []}
                        for round_no in range(args.rounds):
                            order = ["kafka", "odradek"][:: 1 if round_no % 2 == 0 else -1]
                            for kind in order:
                                seen = len(counts) if counts is not None else 0
                                rates[kind].append(count / load(targets[kind], topics[kind]))
                                if counts is not None:
                                    per_kind[kind].extend(counts[seen:])
                        lines.append(_line(size, partitions, label, rates, per_kind, counts))
                        print(lines[-1], flush=True)
            print(
                f"\nreplay of {count} records from the beginning, {args.rounds} rounds; "
                f"Odradek --fsync {args.fsync}; Apache Kafka 4.4.0"
                + ("; brokers and clients pinned to separate CPUs" if args.pin else "")
            )
            print(f"{'size':>5} {'parts':>5} {'load':28} {'median K':>10} {'median O':>10} "
                  f"{'O/K':>5} {'best K':>10} {'best O':>10} {'O/K':>5}  "
                  "rounds K / O (k rec/s)  queue-full backoffs K / O")  # fmt: skip
            print("\n".join(lines))
        finally:
            odradek.stop()
            kafka.stop()


def _line(
    size: int,
    partitions: int,
    label: str,
    rates: dict[str, list[float]],
    backoffs: dict[str, list[int]],
    counts: list[int] | None,
) -> str:
    k_med, o_med = statistics.median(rates["kafka"]), statistics.median(rates["odradek"])
    k_best, o_best = max(rates["kafka"]), max(rates["odradek"])
    rounds = " / ".join(",".join(f"{r / 1000:.0f}" for r in rates[k]) for k in rates)
    tail = f"  {backoffs['kafka']} / {backoffs['odradek']}" if counts is not None else ""
    return (
        f"{size:5} {partitions:5} {label:28} {k_med:10,.0f} {o_med:10,.0f} {o_med / k_med:5.2f} "
        f"{k_best:10,.0f} {o_best:10,.0f} {o_best / k_best:5.2f}  {rounds}{tail}"
    )
