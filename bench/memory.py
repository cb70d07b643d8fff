"""Broker memory (RSS) with 1,000 partitions holding data.

Creates topics totalling `--partitions` partitions, writes `--records` records to every
partition (kcat, one run per topic, records spread over its partitions), reads every
partition back once (so indexes and file handles are touched), then prints the broker
process's RSS; and again after a restart (recovery of all those partitions).

    .venv/bin/python bench/memory.py [--partitions 1000] [--records 100]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

from confluent_kafka.admin import AdminClient, NewTopic
from produce import odradek, record_file  # type: ignore[import-not-found]

PARTITIONS_PER_TOPIC = 50


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--partitions", type=int, default=1000)
    parser.add_argument("--records", type=int, default=100, help="per partition")
    args = parser.parse_args()
    topics = [f"mem-{i:03d}" for i in range(args.partitions // PARTITIONS_PER_TOPIC)]
    with odradek("never") as broker, tempfile.TemporaryDirectory() as tmp:
        print(f"idle broker: RSS {rss_mb(broker.pid):.1f} MB")
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        for future in admin.create_topics(
            [NewTopic(t, PARTITIONS_PER_TOPIC, 1) for t in topics]
        ).values():
            future.result(60)
        print(
            f"{len(topics) * PARTITIONS_PER_TOPIC} empty partitions: RSS {rss_mb(broker.pid):.1f} MB"
        )
        path = record_file(Path(tmp), args.records * PARTITIONS_PER_TOPIC, 100)
        for topic in topics:
            # Random partition per record (no sticky batching), so every partition gets data.
            subprocess.run(
                ["kcat", "-P", "-b", broker.bootstrap, "-t", topic, "-l", str(path),
                 "-X", "partitioner=random", "-X", "sticky.partitioning.linger.ms=0"],
                check=True, timeout=300,
            )  # fmt: skip
        logs = list(broker.data_dir.glob("mem-*/*.log"))
        holding = {p.parent.name for p in logs if p.stat().st_size > 0}
        on_disk = sum(p.stat().st_size for p in logs) / 1e6
        print(
            f"{len(holding)} partitions holding data ({on_disk:.1f} MB on disk): "
            f"RSS {rss_mb(broker.pid):.1f} MB"
        )
        for topic in topics:
            subprocess.run(
                ["kcat", "-C", "-b", broker.bootstrap, "-t", topic, "-o", "beginning", "-e",
                 "-q", "-f", ""],
                check=True, timeout=300, capture_output=True,
            )  # fmt: skip
        print(f"after reading every partition once: RSS {rss_mb(broker.pid):.1f} MB")
        broker.restart()
        for topic in topics[:1]:
            subprocess.run(
                ["kcat", "-C", "-b", broker.bootstrap, "-t", topic, "-o", "beginning", "-e",
                 "-q", "-f", ""],
                check=True, timeout=300, capture_output=True,
            )  # fmt: skip
        print(f"after restart (clean), one topic read: RSS {rss_mb(broker.pid):.1f} MB")


if __name__ == "__main__":
    main()
