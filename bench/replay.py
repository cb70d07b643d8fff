"""Catch-up replay from the beginning of a topic: Odradek (from disk) vs the mock cluster.

Loads the same records into both (kcat producer), then times full reads from the
beginning with kcat (`-C -o beginning -e`) and with a confluent-kafka consumer (assign,
no group), alternating targets each round. Prints records/s, MB/s and the ratio.
The mock keeps only ~100k records / 5 MB per partition (older ones are dropped), so the
records each side really holds are counted first and the figures are per record held.

    .venv/bin/python bench/replay.py [--records N] [--size BYTES] [--rounds R]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from produce import (  # type: ignore[import-not-found]
    MockCluster,
    alternate,
    kcat_produce,
    odradek,
    record_file,
    report,
    topic_name,
)


def kcat_replay(bootstrap: str, topic: str, count: int) -> float:
    cmd = ["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q",
           "-f", "%o\n", "-X", "fetch.max.bytes=52428800"]  # fmt: skip
    start = time.perf_counter()
    out = subprocess.run(cmd, check=True, timeout=600, capture_output=True).stdout
    elapsed = time.perf_counter() - start
    lines = out.count(b"\n")
    if lines != count:
        raise RuntimeError(f"kcat read {lines} of {count} records")
    return elapsed


def create(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(30)


def held(bootstrap: str, topic: str, partitions: int) -> list[tuple[int, int]]:
    """(low, high) watermarks per partition."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-unused"})
    try:
        return [
            consumer.get_watermark_offsets(TopicPartition(topic, p), 30) for p in range(partitions)
        ]
    finally:
        consumer.close()


def python_replay(bootstrap: str, topic: str, marks: list[tuple[int, int]]) -> float:
    count = sum(high - low for low, high in marks)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "bench-unused",
            "enable.auto.commit": False,
            "fetch.max.bytes": 52_428_800,
            "max.partition.fetch.bytes": 10_485_760,
        }
    )
    consumer.assign([TopicPartition(topic, p, low) for p, (low, _) in enumerate(marks)])
    seen = 0
    start = time.perf_counter()
    deadline = start + 600
    while seen < count and time.perf_counter() < deadline:
        for msg in consumer.consume(10_000, 1.0):
            if msg.error() is None:
                seen += 1
    elapsed = time.perf_counter() - start
    consumer.close()
    if seen != count:
        raise RuntimeError(f"consumer read {seen} of {count} records")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=160_000, help="the mock keeps ~180k")
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--large", type=int, default=2_000_000, help="odradek-only replay")
    args = parser.parse_args()
    mock = MockCluster()
    with odradek("never") as broker, tempfile.TemporaryDirectory() as tmp:
        path = record_file(Path(tmp), args.records, args.size)
        topics: dict[str, str] = {}
        marks: dict[str, list[tuple[int, int]]] = {}
        # The mock auto-creates topics (its CreateTopics does not answer); mirror its count.
        topics[mock.bootstrap] = topic_name("replay")
        kcat_produce(mock.bootstrap, topics[mock.bootstrap], path, "1", partition=None)
        partitions = len(
            AdminClient({"bootstrap.servers": mock.bootstrap})
            .list_topics(topics[mock.bootstrap], timeout=30)
            .topics[topics[mock.bootstrap]]
            .partitions
        )
        topics[broker.bootstrap] = topic_name("replay")
        create(broker.bootstrap, topics[broker.bootstrap], partitions)
        kcat_produce(broker.bootstrap, topics[broker.bootstrap], path, "1", partition=None)
        for bootstrap in (broker.bootstrap, mock.bootstrap):
            marks[bootstrap] = held(bootstrap, topics[bootstrap], partitions)
        counts = {b: sum(h - lo for lo, h in m) for b, m in marks.items()}
        print(
            f"loaded {args.records:,} x {args.size} B over {partitions} partitions; "
            f"odradek holds {counts[broker.bootstrap]:,} (reads from disk), "
            f"mock holds {counts[mock.bootstrap]:,}"
        )

        def kcat_run(bootstrap: str) -> float:
            # Normalized to the odradek count so report() compares records/s fairly.
            t = kcat_replay(bootstrap, topics[bootstrap], counts[bootstrap])
            return t * counts[broker.bootstrap] / counts[bootstrap]

        def py_run(bootstrap: str) -> float:
            t = python_replay(bootstrap, topics[bootstrap], marks[bootstrap])
            return t * counts[broker.bootstrap] / counts[bootstrap]

        n = counts[broker.bootstrap]
        for label, run in (("kcat replay", kcat_run), ("confluent-kafka replay", py_run)):
            ours, theirs = alternate(args.rounds, run, broker.bootstrap, mock.bootstrap)
            report(f"{label} {args.size}B", n, args.size, ours, theirs)

        if args.large:
            # The mock cannot hold this much, so these figures are Odradek's alone: a
            # longer read shows the steady rate without client start-up dominating.
            big = record_file(Path(tmp), args.large, args.size)
            topic = topic_name("replay-large")
            create(broker.bootstrap, topic, 1)
            kcat_produce(broker.bootstrap, topic, big, "1")
            marks_big = held(broker.bootstrap, topic, 1)
            for label, seconds in (
                ("kcat", kcat_replay(broker.bootstrap, topic, args.large)),
                ("confluent-kafka", python_replay(broker.bootstrap, topic, marks_big)),
            ):
                rate = args.large / seconds
                print(
                    f"odradek only, {args.large:,} x {args.size} B, {label:<16}"
                    f"{rate:>12,.0f} rec/s {rate * args.size / 1e6:>8.1f} MB/s"
                )


if __name__ == "__main__":
    main()
