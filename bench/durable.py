"""Durable 1 KiB produce against the disk's own synchronous write rate, in one run.

First the disk: 1 MiB writes with O_DSYNC to a file beside the broker's data directory
(what a durable log could do at best on this disk). Then Odradek with `--fsync always`
(acks=all answered only after fsync) takes 1 KiB records from kcat spread over 1, 10 and
100 partitions, first with kcat's default settings, then with large batches
(linger.ms=5, batch.size=1000000). Prints MB/s and the ratio to the disk's rate; the disk
is measured again at the end, to show how much it drifted during the run.

    .venv/bin/python bench/durable.py [--mib 256] [--partitions 1,10,100]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.produce import odradek, record_file, topic_name  # noqa: E402
from bench.replay import create  # noqa: E402

RECORD = 1024
CHUNK = 1 << 20
TUNED = ["-X", "linger.ms=5", "-X", "batch.size=1000000",
         "-X", "queue.buffering.max.messages=2000000",
         "-X", "queue.buffering.max.kbytes=2097151"]  # fmt: skip


def disk_dsync_mb_s(directory: Path, mib: int) -> float:
    """MB/s of `mib` 1 MiB O_DSYNC writes to a new file in `directory`."""
    path = directory / "dsync-probe"
    chunk = os.urandom(CHUNK)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_DSYNC, 0o644)
    try:
        start = time.perf_counter()
        for _ in range(mib):
            os.write(fd, chunk)
        elapsed = time.perf_counter() - start
    finally:
        os.close(fd)
        path.unlink()
    return mib * CHUNK / elapsed / 1e6


def kcat_all(bootstrap: str, topic: str, path: Path, extra: list[str]) -> float:
    """Seconds for kcat to send the file with acks=all to random partitions."""
    cmd = ["kcat", "-P", "-b", bootstrap, "-t", topic, "-l", str(path),
           "-X", "acks=all", *extra]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(cmd, check=True, timeout=900)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mib", type=int, default=256, help="MiB per run")
    parser.add_argument("--partitions", default="1,10,100")
    args = parser.parse_args()
    count = args.mib * CHUNK // RECORD
    with tempfile.TemporaryDirectory(prefix="odradek-durable-") as tmp:
        records = record_file(Path(tmp), count, RECORD)
        disk = disk_dsync_mb_s(Path(tmp), args.mib)
        print(f"disk: 1 MiB O_DSYNC writes {disk:8.1f} MB/s", flush=True)
        with odradek("always") as broker:
            for partitions in (int(p) for p in args.partitions.split(",")):
                for label, extra in (("kcat defaults", []), ("kcat large batches", TUNED)):
                    topic = topic_name(f"durable{partitions}")
                    create(broker.bootstrap, topic, partitions)
                    seconds = kcat_all(broker.bootstrap, topic, records, extra)
                    rate = count * RECORD / seconds / 1e6
                    print(
                        f"acks=all fsync  {partitions:>3} partition(s)  {label:<19} "
                        f"{rate:8.1f} MB/s  = {rate / disk:5.0%} of the disk's O_DSYNC rate",
                        flush=True,
                    )
        disk_after = disk_dsync_mb_s(Path(tmp), args.mib)
        print(f"disk again: {disk_after:8.1f} MB/s (the ratios use the first figure)")


if __name__ == "__main__":
    main()
