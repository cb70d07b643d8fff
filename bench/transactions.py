"""Transactions next to Apache Kafka 4.4: transactional produce and read_committed consume.

Starts a real single-node Apache Kafka (BENCH_JVM_FLAGS) and a real Odradek, then, each
round alternating which broker goes first, times with confluent-kafka (default settings
apart from `transactional.id`; `--records` records of `--size` B to one partition):

  produce, non-transactional     the same load without a transactional.id: the figure
                                 that shows whether plain produce kept its speed;
  produce, transactions of 100   one commit per 100 records;
  produce, transactions of 10000 one commit per 10,000 records;
  consume read_committed /       from the beginning of a partition filled (untimed) in
  read_uncommitted               transactions of `--txn-size` with every
                                 `--abort-every`-th one aborted, so fetches carry
                                 aborted-transaction lists and markers.

Prints records/s (records delivered to the application, for consume: committed ones at
read_committed), the ratio Odradek/Kafka, and for produce each broker's ratio to its own
non-transactional figure; best round of each, no pass/fail.

    .venv/bin/python bench/transactions.py [--records 200000] [--size 100] [--rounds 2]
        [--txn-size 10000] [--abort-every 10] [--fsync always|interval|never]
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

KINDS = ("kafka", "odradek")
PRODUCE_TXN_SIZES = (100, 10_000)
PLAIN = "produce, non-transactional"


def _send(producer: Producer, topic: str, value: bytes, count: int) -> None:
    """Queue `count` records; with librdkafka's default queue bound, wait for room."""
    for _ in range(count):
        while True:
            try:
                producer.produce(topic, value, partition=0)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)


def produce(
    bootstrap: str, topic: str, count: int, size: int, txn_size: int, abort_every: int = 0
) -> tuple[float, int]:
    """(seconds, records committed) for `count` records; txn_size 0: no transactions."""
    config: dict[str, object] = {"bootstrap.servers": bootstrap, "log_level": 3}
    if txn_size:
        config["transactional.id"] = f"bench-{uuid.uuid4().hex[:8]}"
    producer = Producer(config)
    # Connected and the partition's leader known before the clock starts, as a
    # transactional producer is once init_transactions has returned.
    producer.list_topics(topic, timeout=LOAD_TIMEOUT)
    value = b"v" * size
    if not txn_size:
        start = time.perf_counter()
        _send(producer, topic, value, count)
        assert producer.flush(LOAD_TIMEOUT) == 0
        return time.perf_counter() - start, count
    producer.init_transactions(LOAD_TIMEOUT)
    committed = 0
    start = time.perf_counter()
    for n, first in enumerate(range(0, count, txn_size)):
        batch = min(txn_size, count - first)
        producer.begin_transaction()
        _send(producer, topic, value, batch)
        if abort_every and (n + 1) % abort_every == 0:
            # Delivered first: Kafka 4.4 refused a second abort of in-flight batches with
            # INVALID_TXN_STATE (librdkafka 2.x), which would end the run.
            assert producer.flush(LOAD_TIMEOUT) == 0
            producer.abort_transaction(LOAD_TIMEOUT)
        else:
            producer.commit_transaction(LOAD_TIMEOUT)
            committed += batch
    return time.perf_counter() - start, committed


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
        # Never ask for more than is left: consume() waits out its timeout when fewer
        # than the asked-for number of records arrive.
        wanted = min(10_000, expect - got)
        got += sum(1 for m in consumer.consume(wanted, 1.0) if not m.error())
    elapsed = time.perf_counter() - start
    consumer.close()
    if got != expect:
        raise SystemExit(f"{isolation}: received {got} records, expected {expect}")
    return elapsed


def _topic(bootstrap: str, label: str) -> str:
    topic = f"bench-txn-{label}-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic)
    return topic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--txn-size", type=int, default=10_000, help="consume fill only")
    parser.add_argument("--abort-every", type=int, default=10, help="consume fill only")
    parser.add_argument("--fsync", default="always", choices=("always", "interval", "never"))
    args = parser.parse_args()
    count, size = args.records, args.size
    with tempfile.TemporaryDirectory(prefix="txn-bench-") as tmp:
        work = Path(tmp)
        kafka = start_kafka(work / "kafka", jvm_flags=BENCH_JVM_FLAGS)
        odradek = start_broker(work / "odradek", args=("--fsync", args.fsync))
        targets = {"kafka": kafka.bootstrap, "odradek": odradek.bootstrap}
        try:
            filled: dict[str, tuple[str, int]] = {}
            for kind, bootstrap in targets.items():
                topic = _topic(bootstrap, "fill")
                _, committed = produce(
                    bootstrap, topic, count, size, args.txn_size, args.abort_every
                )
                filled[kind] = (topic, committed)
            loads = [(PLAIN, 0)] + [(f"produce, transactions of {n}", n) for n in PRODUCE_TXN_SIZES]
            # load name -> broker kind -> (best seconds, records it delivered)
            best: dict[str, dict[str, tuple[float, int]]] = {}

            def keep(name: str, kind: str, took: float, records: int) -> None:
                old = best.setdefault(name, {}).get(kind)
                if old is None or took < old[0]:
                    best[name][kind] = (took, records)

            for round_no in range(args.rounds):
                order = KINDS if round_no % 2 == 0 else KINDS[::-1]
                for name, txn_size in loads:
                    for kind in order:
                        topic = _topic(targets[kind], "produce")
                        took, _ = produce(targets[kind], topic, count, size, txn_size)
                        keep(name, kind, took, count)
                for isolation in ("read_committed", "read_uncommitted"):
                    for kind in order:
                        topic, committed = filled[kind]
                        expect = committed if isolation == "read_committed" else count
                        took = consume(targets[kind], topic, isolation, expect)
                        keep(f"consume {isolation}", kind, took, expect)
            print(
                f"\n{count} records of {size} B, one partition, confluent-kafka defaults, best"
                f" of {args.rounds} rounds; consume reads transactions of {args.txn_size}"
                f" (1 in {args.abort_every} aborted); Odradek --fsync {args.fsync};"
                " Apache Kafka 4.4.0"
            )
            print(f"{'load':34} {'Kafka rec/s':>12} {'Odradek rec/s':>14} {'O/K':>6}"
                  f"  {'K vs plain':>10} {'O vs plain':>10}")  # fmt: skip
            rates = {
                name: {kind: records / took for kind, (took, records) in by_kind.items()}
                for name, by_kind in best.items()
            }
            for name, rate in rates.items():
                line = f"{name:34} {rate['kafka']:12,.0f} {rate['odradek']:14,.0f}"
                line += f" {rate['odradek'] / rate['kafka']:6.2f}"
                if name.startswith("produce"):
                    line += "".join(f"  {rate[k] / rates[PLAIN][k]:10.2f}" for k in KINDS)
                print(line)
        finally:
            odradek.stop()
            kafka.stop()


if __name__ == "__main__":
    main()
