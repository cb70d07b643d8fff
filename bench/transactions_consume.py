"""read_committed consume next to Apache Kafka: the log side of transactions, one run.

Starts a real single-node Apache Kafka and a real Odradek, fills one partition on each
with a confluent-kafka transactional producer (transactions of `--txn-size` records, every
`--abort-every`-th one aborted, so fetches carry aborted-transaction lists and markers),
then reads it back from the beginning with confluent-kafka at read_committed and at
read_uncommitted, alternating which broker goes first each round. Prints records/s (of
records delivered to the application) and the ratio Odradek/Kafka, best round of each;
no pass/fail.

    .venv/bin/python bench/transactions_consume.py [--records 200000] [--size 100]
        [--txn-size 10000] [--abort-every 10] [--rounds 2] [--fsync always|interval|never]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

from bench.vs_kafka import LOAD_TIMEOUT, create_topic  # noqa: E402
from reference.launcher import BENCH_JVM_FLAGS, start_kafka  # noqa: E402
from tests.broker_fixture import start_broker  # noqa: E402


def fill(bootstrap: str, topic: str, count: int, size: int, txn_size: int, abort_every: int) -> int:
    """Write `count` records in transactions; returns how many were committed."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "transactional.id": f"bench-{uuid.uuid4().hex[:8]}",
            "linger.ms": 5,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": 2_000_000,
            "queue.buffering.max.kbytes": 2_097_151,
            "log_level": 3,
        }
    )
    producer.init_transactions(LOAD_TIMEOUT)
    value = b"v" * size
    committed = 0
    for n, start in enumerate(range(0, count, txn_size)):
        batch = min(txn_size, count - start)
        producer.begin_transaction()
        for _ in range(batch):
            producer.produce(topic, value, partition=0)
            producer.poll(0)
        if abort_every and (n + 1) % abort_every == 0:
            # Delivered first: Kafka 4.4 refused a second abort of in-flight batches with
            # INVALID_TXN_STATE (librdkafka 2.x), which would end the run.
            assert producer.flush(LOAD_TIMEOUT) == 0
            producer.abort_transaction(LOAD_TIMEOUT)
        else:
            producer.commit_transaction(LOAD_TIMEOUT)
            committed += batch
    return committed


def consume(bootstrap: str, topic: str, isolation: str, expect: int) -> float:
    """Seconds to receive `expect` records of partition 0 from the start."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{uuid.uuid4().hex[:6]}",
            "enable.auto.commit": False,
            "isolation.level": isolation,
            "fetch.max.bytes": 52_428_800,
            "max.partition.fetch.bytes": 10_485_760,
            "log_level": 3,
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    got = 0
    start = time.perf_counter()
    deadline = start + LOAD_TIMEOUT
    while got < expect and time.perf_counter() < deadline:
        got += sum(1 for m in consumer.consume(10_000, 1.0) if not m.error())
    elapsed = time.perf_counter() - start
    consumer.close()
    if got != expect:
        raise SystemExit(f"{isolation}: received {got} records, expected {expect}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--txn-size", type=int, default=10_000)
    parser.add_argument("--abort-every", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--fsync", default="always", choices=("always", "interval", "never"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="txn-consume-") as tmp:
        work = Path(tmp)
        kafka = start_kafka(work / "kafka", jvm_flags=BENCH_JVM_FLAGS)
        odradek = start_broker(work / "odradek", args=("--fsync", args.fsync))
        targets = {"kafka": kafka.bootstrap, "odradek": odradek.bootstrap}
        try:
            topics: dict[str, tuple[str, int]] = {}
            for kind, bootstrap in targets.items():
                topic = f"bench-txn-{uuid.uuid4().hex[:8]}"
                create_topic(bootstrap, topic)
                committed = fill(
                    bootstrap, topic, args.records, args.size, args.txn_size, args.abort_every
                )
                topics[kind] = (topic, committed)
            best: dict[tuple[str, str], float] = {}
            for round_no in range(args.rounds):
                order = ["kafka", "odradek"] if round_no % 2 == 0 else ["odradek", "kafka"]
                for isolation in ("read_committed", "read_uncommitted"):
                    for kind in order:
                        topic, committed = topics[kind]
                        expect = committed if isolation == "read_committed" else args.records
                        took = consume(targets[kind], topic, isolation, expect)
                        key = (isolation, kind)
                        best[key] = min(best.get(key, took), took)
            print(
                f"\n{args.records} records of {args.size} B in transactions of {args.txn_size}"
                f" (1 in {args.abort_every} aborted), best of {args.rounds} rounds;"
                f" Odradek --fsync {args.fsync}"
            )
            print(
                f"{'confluent-kafka consume':28} {'Kafka rec/s':>12} {'Odradek rec/s':>14} {'O/K':>6}"
            )
            for isolation in ("read_committed", "read_uncommitted"):
                expect = topics["kafka"][1] if isolation == "read_committed" else args.records
                k_rate = expect / best[(isolation, "kafka")]
                o_rate = expect / best[(isolation, "odradek")]
                print(f"{isolation:28} {k_rate:12,.0f} {o_rate:14,.0f} {o_rate / k_rate:6.2f}")
        finally:
            odradek.stop()
            kafka.stop()


if __name__ == "__main__":
    main()
