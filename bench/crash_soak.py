"""Crash soak: `kill -9` a real broker N times under an idempotent acks=all producer and a
consumer group committing offsets, then check that nothing acknowledged was lost or stored
twice and that no committed offset went backwards.

One broker process (`python -m logstore serve`, fsync=always, small segments so crashes
land around rolls) on a temporary data dir; a confluent-kafka producer
(`enable.idempotence`, acks=all) sends a numbered value per record, spread over the
partitions; a confluent-kafka consumer in a group reads and commits synchronously. The
main thread kills the broker with SIGKILL at a random moment, restarts it on the same port
and data dir, and after each restart asks the broker for the group's committed offsets,
which must be at least every commit the consumer saw acknowledged. At the end the topic is
read from offset 0: every acknowledged value must be there exactly once.

Prints acked / lost / duplicated records, delivery failures, committed offsets that went
backwards, torn tails the broker logged as truncated, partitions it took offline, and the
time taken. Exits 1 if anything was lost, duplicated, went backwards or went offline.
Talks to 127.0.0.1 only; bounded by --cycles and --max-seconds.

    .venv/bin/python bench/crash_soak.py [--cycles 200] [--partitions 3] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from tests.broker_fixture import BrokerProcess, start_broker  # noqa: E402

TOPIC = "soak"
GROUP = "soak-group"
SEGMENT_BYTES = 64 * 1024


class Produced:
    """What the producer thread saw acknowledged (value -> partition) or failed."""

    def __init__(self) -> None:
        self.acked: dict[int, int] = {}
        self.failed: Counter[str] = Counter()
        self.sent = 0
        self.last_ack = time.monotonic()
        self.longest_gap = 0.0  # seconds between two acknowledgements, at most
        self.gap_ended = 0.0
        self.first_after_mark: float | None = 0.0  # first ack since `mark()` (None: none yet)
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def mark(self) -> float:
        """Start watching for the next acknowledgement; returns the time it started."""
        self.first_after_mark = None
        return time.monotonic()

    def on_delivery(self, err: KafkaError | None, msg) -> None:  # type: ignore[no-untyped-def]
        if err is None:
            now = time.monotonic()
            if now - self.last_ack > self.longest_gap:
                self.longest_gap, self.gap_ended = now - self.last_ack, now
            self.last_ack = now
            if self.first_after_mark is None:
                self.first_after_mark = now
            self.acked[int(msg.value())] = msg.partition()
        else:
            self.failed[err.name()] += 1


def produce_loop(bootstrap: str, partitions: int, out: Produced) -> None:
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "reconnect.backoff.ms": 20,
            "reconnect.backoff.max.ms": 200,
            "queue.buffering.max.messages": 20000,
        }
    )
    try:
        while not out.stop.is_set():
            # Bounded in flight: at most a few thousand unacknowledged records.
            if out.sent - len(out.acked) - out.failed.total() > 2000:
                producer.poll(0.05)
                continue
            for _ in range(50):
                producer.produce(
                    TOPIC,
                    value=str(out.sent).encode(),
                    partition=out.sent % partitions,
                    on_delivery=out.on_delivery,
                )
                out.sent += 1
            producer.poll(0.005)
        left = producer.flush(120)
        if left:
            out.failed["still queued at the end"] += left
    except BaseException as exc:
        out.error = exc


class Committed:
    """Offsets the consumer's synchronous commits had acknowledged, highest per partition."""

    def __init__(self) -> None:
        self.acked: dict[int, int] = {}
        self.commits = 0
        self.consumed = 0
        self.errors: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.error: BaseException | None = None


def consume_loop(bootstrap: str, out: Committed) -> None:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": GROUP,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
            "reconnect.backoff.ms": 20,
            "reconnect.backoff.max.ms": 200,
        }
    )
    consumer.subscribe([TOPIC])
    try:
        while not out.stop.is_set():
            msgs = consumer.consume(500, 0.2)
            good = [m for m in msgs if m.error() is None]
            for m in msgs:
                if m.error() is not None:
                    out.errors[m.error().name()] += 1
            if not good:
                continue
            out.consumed += len(good)
            positions: dict[int, int] = {}
            for m in good:
                positions[m.partition()] = max(positions.get(m.partition(), 0), m.offset() + 1)
            offsets = [TopicPartition(TOPIC, p, o) for p, o in positions.items()]
            try:
                done = consumer.commit(offsets=offsets, asynchronous=False)
            except Exception as exc:  # the broker died mid-commit: not acknowledged
                out.errors[type(exc).__name__] += 1
                continue
            with out.lock:
                out.commits += 1
                for tp in done or []:
                    if tp.error is None and tp.offset >= 0:
                        out.acked[tp.partition] = max(out.acked.get(tp.partition, 0), tp.offset)
    except BaseException as exc:
        out.error = exc
    finally:
        consumer.close()


def committed_now(bootstrap: str, partitions: int) -> dict[int, int] | None:
    """The group's committed offsets as the broker reports them (None if it did not answer)."""
    checker = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP})
    try:
        found = checker.committed([TopicPartition(TOPIC, p) for p in range(partitions)], 20)
    except Exception:
        return None
    finally:
        checker.close()
    return {tp.partition: tp.offset for tp in found if tp.error is None}


def read_back(bootstrap: str, partitions: int) -> Counter[int]:
    """How many times each value is stored, reading every partition from offset 0."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "soak-reader", "enable.auto.commit": False}
    )
    ends = {
        p: consumer.get_watermark_offsets(TopicPartition(TOPIC, p), 30)[1]
        for p in range(partitions)
    }
    consumer.assign([TopicPartition(TOPIC, p, 0) for p in range(partitions)])
    seen: Counter[int] = Counter()
    done = {p for p, end in ends.items() if end == 0}
    deadline = time.monotonic() + 300
    while len(done) < partitions:
        if time.monotonic() > deadline:
            raise RuntimeError(f"read-back stalled: {len(done)}/{partitions} partitions read")
        for m in consumer.consume(1000, 1.0):
            if m.error() is not None:
                raise RuntimeError(f"read-back error: {m.error()}")
            seen[int(m.value())] += 1
            if m.offset() + 1 >= ends[m.partition()]:
                done.add(m.partition())
    consumer.close()
    return seen


def soak(
    broker: BrokerProcess, cycles: int, partitions: int, rng: random.Random, max_s: float
) -> int:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    config = {"internal.segment.bytes": str(SEGMENT_BYTES)}
    admin.create_topics([NewTopic(TOPIC, partitions, 1, config=config)])[TOPIC].result(30)
    produced, committed = Produced(), Committed()
    threads = [
        threading.Thread(target=produce_loop, args=(broker.bootstrap, partitions, produced)),
        threading.Thread(target=consume_loop, args=(broker.bootstrap, committed)),
    ]
    for t in threads:
        t.start()
    backwards: list[str] = []
    resumed: list[float] = []  # seconds from a restart to the producer's next ack
    stuck = 0
    ready = produced.mark()
    unanswered = 0
    started = time.monotonic()
    done_cycles = 0
    try:
        for cycle in range(cycles):
            if time.monotonic() - started > max_s:
                print(f"stopping early at --max-seconds {max_s:.0f}")
                break
            if produced.error or committed.error:
                break
            # Kill only a producer that is producing again (else a run of kills lands
            # while the client is still reconnecting, and tests nothing), then at a random
            # moment: anywhere from mid-request to well after a group rejoin.
            deadline = ready + 60
            while produced.first_after_mark is None and time.monotonic() < deadline:
                time.sleep(0.01)  # watching the producer thread's progress
            if produced.first_after_mark is None:
                stuck += 1
            else:
                resumed.append(produced.first_after_mark - ready)
            time.sleep(rng.uniform(0.05, 1.5))
            with committed.lock:
                expected = dict(committed.acked)
            broker.kill9()
            broker.restart(same_port=True)
            ready = produced.mark()
            done_cycles += 1
            now = committed_now(broker.bootstrap, partitions)
            if now is None:
                unanswered += 1
            else:
                for p, offset in expected.items():
                    if now.get(p, -1) < offset:
                        backwards.append(f"cycle {cycle}: partition {p} {offset} -> {now.get(p)}")
            if (cycle + 1) % 20 == 0:
                print(
                    f"  {cycle + 1} kills, {len(produced.acked)} acked, "
                    f"{committed.commits} commits, {time.monotonic() - started:.0f} s",
                    flush=True,
                )
        time.sleep(2.0)  # let the last restart's traffic settle before stopping the clients
    finally:
        produced.stop.set()
        committed.stop.set()
        for t in threads:
            t.join(180)
    elapsed = time.monotonic() - started
    for name, err in (("producer", produced.error), ("consumer", committed.error)):
        if err is not None:
            print(f"{name} thread failed: {err!r}")
    final = committed_now(broker.bootstrap, partitions) or {}
    for p, offset in committed.acked.items():
        if final.get(p, -1) < offset:
            backwards.append(f"final: partition {p} {offset} -> {final.get(p)}")
    stored = read_back(broker.bootstrap, partitions)
    lost = [v for v in produced.acked if stored[v] == 0]
    duplicated = [v for v, n in stored.items() if n > 1]
    misplaced = [v for v in stored if v in produced.acked and v % partitions != produced.acked[v]]
    print(f"kill -9 cycles:            {done_cycles} in {elapsed:.0f} s "
          f"({elapsed / max(done_cycles, 1):.2f} s per cycle)")  # fmt: skip
    print(f"records sent / acked:      {produced.sent} / {len(produced.acked)}")
    print(f"stored (incl. unacked):    {sum(stored.values())}")
    print(f"lost (acked, not stored):  {len(lost)}")
    print(f"duplicated:                {len(duplicated)}")
    print(f"misplaced:                 {len(misplaced)}")
    print(f"delivery failures:         {dict(produced.failed) or 0}")
    if resumed:
        resumed.sort()
        print(
            f"first ack after a restart: median {resumed[len(resumed) // 2]:.2f} s, "
            f"max {resumed[-1]:.2f} s; none within 60 s: {stuck}"
        )
    print(
        f"longest wait for an ack:   {produced.longest_gap:.1f} s "
        f"(ended {produced.gap_ended - started:.0f} s into the run, at "
        f"{time.strftime('%H:%M:%S', time.localtime(time.time() - time.monotonic() + produced.gap_ended))})"
    )
    print(f"consumer: {committed.consumed} records read, {committed.commits} commits acked, "
          f"errors {dict(committed.errors) or 0}")  # fmt: skip
    print(f"committed went backwards:  {len(backwards)}")
    log = broker.log_path.read_text(errors="replace")
    offline = [line for line in log.splitlines() if "is offline" in line]
    print(f"torn tails truncated:      {log.count(': truncated at offset ')} (broker log)")
    print(f"partitions taken offline:  {len(offline)}")
    print(f"offset checks unanswered:  {unanswered}")
    for line in (backwards + offline + [f"lost {v}" for v in lost[:10]])[:20]:
        print("   ", line)
    bad = (
        lost or duplicated or misplaced or backwards or offline or produced.error or committed.error
    )
    return 1 if bad else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    parser.add_argument("--keep", action="store_true", help="keep the data dir and broker log")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="odradek-soak-")
    broker = start_broker(Path(tmp) / "data", args=("--fsync", "always"))
    print(f"broker on {broker.bootstrap}, data dir {broker.data_dir}")
    try:
        code = soak(
            broker, args.cycles, args.partitions, random.Random(args.seed), args.max_seconds
        )
    finally:
        broker.stop()
    if not args.keep and code == 0:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"kept {tmp}")
    sys.exit(code)


if __name__ == "__main__":
    main()
