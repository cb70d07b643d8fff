"""Share-group figures, Odradek and Apache Kafka in one run, against real broker processes.

Prints: records/s delivered and accepted through 1 and 3 confluent-kafka share consumers
(explicit acknowledgement) on a 3-partition topic, for each broker; and Odradek's RSS growth
with 100,000 records acquired and unacknowledged on one partition. The machine is shared,
so figures are noisy. Run: `.venv/bin/python bench/share_groups.py [--records N]
[--no-kafka]`. Prints figures only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from confluent_kafka import AcknowledgeType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.groups import start_broker
from reference.launcher import start_kafka
from tests.clients.group_topics import create_topic
from tests.clients.share_groups import (
    configure_group,
    consume_until,
    produce_values,
    share_consumer,
)

IN_FLIGHT = 100_000


def rate(bootstrap: str, records: int, consumers: int) -> float:
    topic = create_topic(bootstrap, 3)
    group = configure_group(bootstrap)
    produce_values(bootstrap, topic, range(records), 3)
    members = [share_consumer(bootstrap, group, topic) for _ in range(consumers)]
    try:
        start = time.perf_counter()
        consume_until(members, lambda m: AcknowledgeType.ACCEPT, lambda s: len(s) >= records)
        return records / (time.perf_counter() - start)
    finally:
        for m in members:
            m.close()


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
        consumer = share_consumer(bootstrap, group, topic)
        consume_until([consumer], lambda m: None, lambda s: len(s) >= IN_FLIGHT)
        held = rss_kib(proc.pid)
        consumer.close()
        return idle, held
    finally:
        proc.terminate()
        proc.wait(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
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
                figures = {name: rate(bs, args.records, consumers) for name, bs in brokers.items()}
                shown = "  ".join(f"{n} {r:,.0f} records/s" for n, r in figures.items())
                print(f"{consumers} share consumer(s), {args.records:,} records: {shown}")
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
