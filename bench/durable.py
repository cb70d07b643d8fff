"""Durable 1 KiB produce against the disk's own synchronous write rate, in one run.

The disk is measured with 1 MiB writes with O_DSYNC to a file beside the broker's data
directory, written right before each broker load and kept until the run ends. Keeping it
matters: a log keeps what it writes, so every append takes page-cache pages the machine
has not handed out yet, and on a virtual machine that returns idle memory to its host
(this one does) those cost far more than pages just freed by a deleted file. A probe that
deletes its file measures the recycled kind; it is printed once for reference.
Odradek with `--fsync always` (acks=all answered only after fsync) then takes 1 KiB records
from kcat spread over 1, 10 and 100 partitions, first with kcat's default settings, then
with large batches (linger.ms=5, batch.size=1000000). Each setting runs
`--rounds` times between probes; the median broker rate is divided by the median probe.

Every load also runs, in the same round, against a second Odradek with `--fsync never`
(acknowledged once in the page cache, as Apache Kafka does): durable / cached says what
the syncs cost, and the CPU kcat and the broker used (share of one core) says whether the
client, the broker or the disk set the pace. A disk faster than one kcat can send caps the
disk ratio without saying anything about durability.

    .venv/bin/python bench/durable.py [--mib 256] [--partitions 1,10,100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.cpu import client_cpu_seconds, process_cpu_seconds  # noqa: E402
from bench.produce import odradek, record_file, topic_name  # noqa: E402
from bench.replay import create  # noqa: E402
from tests.broker_fixture import BrokerProcess  # noqa: E402

RECORD = 1024
CHUNK = 1 << 20
TUNED = ["-X", "linger.ms=5", "-X", "batch.size=1000000",
         "-X", "queue.buffering.max.messages=2000000",
         "-X", "queue.buffering.max.kbytes=2097151"]  # fmt: skip


def disk_dsync_mb_s(path: Path, mib: int, *, keep: bool) -> float:
    """MB/s of `mib` 1 MiB O_DSYNC writes to the new file `path`, left in place if `keep`."""
    chunk = os.urandom(CHUNK)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_DSYNC, 0o644)
    try:
        start = time.perf_counter()
        for _ in range(mib):
            os.write(fd, chunk)
        elapsed = time.perf_counter() - start
    finally:
        os.close(fd)
        if not keep:
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
    parser.add_argument("--rounds", type=int, default=3, help="broker loads per setting")
    args = parser.parse_args()
    count = args.mib * CHUNK // RECORD
    with tempfile.TemporaryDirectory(prefix="odradek-durable-") as tmp:
        records = record_file(Path(tmp), count, RECORD)
        recycled = disk_dsync_mb_s(Path(tmp) / "probe-recycled", args.mib, keep=False)
        print(f"disk, 1 MiB O_DSYNC into a deleted file (recycled pages) {recycled:8.1f} MB/s")
        probes = itertools.count()

        def probe() -> float:
            return disk_dsync_mb_s(Path(tmp) / f"probe-{next(probes)}", args.mib, keep=True)

        with odradek("always") as durable, odradek("never") as cached:

            def load(broker: BrokerProcess, partitions: int, extra: list[str]) -> Load:
                topic = topic_name(f"durable{partitions}")
                create(broker.bootstrap, topic, partitions)
                client, served = client_cpu_seconds(), process_cpu_seconds(broker.pid)
                seconds = kcat_all(broker.bootstrap, topic, records, extra)
                return Load(
                    count * RECORD / seconds / 1e6,
                    (client_cpu_seconds() - client) / seconds,
                    (process_cpu_seconds(broker.pid) - served) / seconds,
                )

            for partitions in (int(p) for p in args.partitions.split(",")):
                for label, extra in (("kcat defaults", []), ("kcat large batches", TUNED)):
                    disks, synced, unsynced = [probe()], [], []
                    for round_no in range(args.rounds):
                        # Alternated, so neither broker always runs right after a probe.
                        if round_no % 2:
                            unsynced.append(load(cached, partitions, extra))
                        synced.append(load(durable, partitions, extra))
                        if not round_no % 2:
                            unsynced.append(load(cached, partitions, extra))
                        disks.append(probe())
                    rate = statistics.median(x.mb_s for x in synced)
                    fast = statistics.median(x.mb_s for x in unsynced)
                    disk = statistics.median(disks)
                    print(
                        f"acks=all fsync  {partitions:>3} partition(s)  {label:<19} "
                        f"{rate:8.1f} MB/s  = {rate / disk:5.0%} of the disk's O_DSYNC rate, "
                        f"{rate / fast:4.0%} of --fsync never's {fast:.0f} MB/s "
                        f"\n    (medians; disk {min(disks):.0f}-{max(disks):.0f} MB/s, "
                        f"broker {min(x.mb_s for x in synced):.0f}-"
                        f"{max(x.mb_s for x in synced):.0f} MB/s; CPU, one core = 100%: "
                        f"kcat {_median_share(synced, 'client')}, "
                        f"broker {_median_share(synced, 'broker')} synced, "
                        f"kcat {_median_share(unsynced, 'client')}, "
                        f"broker {_median_share(unsynced, 'broker')} unsynced)",
                        flush=True,
                    )


@dataclass(frozen=True)
class Load:
    """One kcat run: its rate and the CPU each side used per second of it."""

    mb_s: float
    client: float
    broker: float


def _median_share(loads: list[Load], side: str) -> str:
    return f"{statistics.median(getattr(x, side) for x in loads):.0%}"


if __name__ == "__main__":
    main()
