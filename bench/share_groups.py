"""Share-group figures, Odradek and Apache Kafka in one run, against real broker processes.

Prints, for each broker: records/s delivered and accepted through 1 and 3 confluent-kafka
share consumers (explicit acknowledgement, default settings) on a 3-partition topic, split
into the time to the first record and the rate from then on; Kafka's own
`kafka-share-consumer-perf-test` (ShareConsumerPerformance, 1 and 3 threads, implicit
acknowledgement) where the jars have it; and Odradek's RSS growth with 100,000 records
acquired and unacknowledged on one partition.

Why the split: a new share group on Kafka gets its first records ~5 s after joining, on
either client. Its first ShareGroupHeartbeat answers with an empty assignment while the
share coordinator initializes the share-partitions' state (raw ShareFetches for the
partition come back empty for ~2 s too), and the consumer only asks again after
`share.heartbeat.interval.ms` (5 s; Kafka's minimum). Odradek assigns and initializes at
once. With 20,000 records that start-up was nearly all of Kafka's run time, which made it
look ~50x slower; from the first record on, the two are within a small factor. The machine
is shared, so figures are noisy. Run: `.venv/bin/python bench/share_groups.py
[--records N] [--no-kafka]`. Prints figures only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from confluent_kafka import AcknowledgeType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.groups import start_broker
from reference.launcher import java_command, start_kafka
from tests.clients.group_topics import create_topic
from tests.clients.share_groups import (
    configure_group,
    consume_until,
    produce_values,
    share_consumer,
)
from tests.logstore.broker.share_wire import Member
from tests.logstore.broker.wire import Wire

IN_FLIGHT = 100_000
PERF_TOOL = "org.apache.kafka.tools.ShareConsumerPerformance"


def rate(bootstrap: str, records: int, consumers: int) -> tuple[float, float, float]:
    """(seconds to the first record, records/s from it, records/s overall)."""
    topic = create_topic(bootstrap, 3)
    group = configure_group(bootstrap)
    produce_values(bootstrap, topic, range(records), 3)
    members = [share_consumer(bootstrap, group, topic) for _ in range(consumers)]
    first: list[float] = []

    def done(seen: list[Any]) -> bool:
        if seen and not first:
            first.append(time.perf_counter())
        return len(seen) >= records

    try:
        start = time.perf_counter()
        consume_until(members, lambda m: AcknowledgeType.ACCEPT, done)
        end = time.perf_counter()
        return first[0] - start, records / (end - first[0]), records / (end - start)
    finally:
        for m in members:
            m.close()


def java_perf(bootstrap: str, records: int, threads: int) -> str:
    """Kafka's ShareConsumerPerformance figure (records/s over its whole run, start-up
    included), or why there is none."""
    topic = create_topic(bootstrap, 3)
    group = configure_group(bootstrap)
    produce_values(bootstrap, topic, range(records), 3)
    args = ["--bootstrap-server", bootstrap, "--topic", topic, "--group", group]
    args += ["--num-records", str(records), "--threads", str(threads), "--timeout", "30000"]
    done = subprocess.run(
        java_command(PERF_TOOL, args), capture_output=True, text=True, timeout=300, check=False
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return "failed: " + (done.stderr.strip().splitlines() or ["?"])[-1]
    # start.time, end.time, data.consumed.in.MB, MB.sec, nMsg.sec, data.consumed.in.nMsg
    fields = [f.strip() for f in lines[-1].split(",")]
    return f"{float(fields[4]):,.0f} records/s"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def start_with_locks(data_dir: Path, locks: int) -> tuple[subprocess.Popen[bytes], str]:
    port_file = data_dir.parent / "rss-port"
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "logstore", "serve", "--data-dir", str(data_dir),
            "--listen", "127.0.0.1:0", "--port-file", str(port_file),
            "--group-share-partition-max-record-locks", str(locks),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while not port_file.exists():
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit("broker did not start")
        time.sleep(0.05)  # polling the broker's readiness
    return proc, f"127.0.0.1:{port_file.read_text().strip()}"


def in_flight_rss(tmp: Path) -> tuple[int, int]:
    """(idle RSS, RSS with IN_FLIGHT records acquired) of an Odradek broker, in KiB."""
    # The in-flight cap is Kafka's 2,000 by default: raised so 100,000 can be held.
    proc, bootstrap = start_with_locks(tmp / "rss-data", 2 * IN_FLIGHT)
    time.sleep(1)  # let start-up settle before the idle reading
    try:
        idle = rss_kib(proc.pid)
        topic = create_topic(bootstrap, 1)
        group = configure_group(bootstrap)
        produce_values(bootstrap, topic, range(IN_FLIGHT), 1)
        # Raw ShareFetches that never acknowledge: client consumers in explicit mode
        # refuse to poll again before acknowledging.
        with Wire(bootstrap) as wire:
            member = Member(wire, group, topic)
            held = 0
            deadline = time.monotonic() + 60
            while held < IN_FLIGHT and time.monotonic() < deadline:
                held += sum(last - first + 1 for first, last in member.fetch(5000))
            rss = rss_kib(proc.pid)
        return idle, rss
    finally:
        proc.terminate()
        proc.wait(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--no-kafka", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        proc, bootstrap = start_broker(tmp / "data")
        brokers = {"odradek": bootstrap}
        kafka = None
        try:
            if not args.no_kafka:
                kafka = start_kafka(tmp / "kafka")
                brokers["kafka"] = kafka.bootstrap
            for consumers in (1, 3):
                for name, bs in brokers.items():
                    first, steady, overall = rate(bs, args.records, consumers)
                    print(
                        f"{name}: {consumers} confluent share consumer(s), {args.records:,} "
                        f"records: first record after {first:.2f} s, then {steady:,.0f} "
                        f"records/s ({overall:,.0f} records/s overall)"
                    )
            for threads in (1, 3):
                for name, bs in brokers.items():
                    figure = java_perf(bs, args.records, threads)
                    print(f"{name}: ShareConsumerPerformance, {threads} thread(s): {figure}")
        finally:
            proc.terminate()
            proc.wait(20)
            if kafka is not None:
                kafka.stop()
        idle, held = in_flight_rss(tmp)
        print(
            f"odradek RSS: idle {idle / 1024:.1f} MiB, {IN_FLIGHT:,} in flight "
            f"{held / 1024:.1f} MiB (+{(held - idle) / 1024:.1f} MiB)"
        )


if __name__ == "__main__":
    main()
