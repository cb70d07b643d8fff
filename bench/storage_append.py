"""Append throughput of logstore.storage vs plain file writes of the same bytes.

For 100-byte and 1 KiB records in batches of 1,000, and for each fsync policy, prints MB/s
and records/s for `PartitionLog.append` (plus `wait_durable`) next to `os.write` of the
same batches into one file with the same fsync cadence; the percentage is storage speed
as a share of the plain write speed (target: >= 70% with fsync=never).

    .venv/bin/python bench/storage_append.py [--mb 64] [--dir var/bench] [--policies never]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._records import RECORDS_PER_BATCH, Clock, best, make_batches, row, scratch_dir
from logstore.storage import LogManager

INTERVAL_MS = 1000


def plain_write(
    directory: Path, batches: list[bytes], policy: str, producers: int
) -> tuple[float, float]:
    """The same bytes through os.write; fsync after every `producers` batches for "always"."""
    fd = os.open(directory / "plain.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    clock = Clock()
    last_sync = time.perf_counter()
    for i, data in enumerate(batches, 1):
        os.write(fd, data)
        if policy == "always" and i % producers == 0:
            os.fsync(fd)
        elif policy == "interval" and time.perf_counter() - last_sync >= INTERVAL_MS / 1000:
            os.fsync(fd)
            last_sync = time.perf_counter()
    if policy != "never":
        os.fsync(fd)
    elapsed = clock.stop()
    os.close(fd)
    return elapsed


async def storage_write(
    directory: Path, batches: list[bytes], policy: str, producers: int
) -> tuple[tuple[float, float], dict[str, int]]:
    mgr = LogManager(directory, fsync=policy, fsync_interval_ms=INTERVAL_MS).open()
    mgr.create_topic("bench", 1)
    log = mgr.log("bench", 0)
    chunks = [batches[i::producers] for i in range(producers)]

    async def producer(mine: list[bytes]) -> None:
        for data in mine:
            result = log.append(data)
            await mgr.wait_durable(log, result.last_offset)

    clock = Clock()
    if producers == 1:
        for data in batches:
            result = log.append(data)
            await mgr.wait_durable(log, result.last_offset)
            if policy == "interval":
                mgr.tick()
    else:
        await asyncio.gather(*(producer(c) for c in chunks))
    if policy != "never":
        mgr.sync_all()
    elapsed = clock.stop()
    stats = dict(mgr.stats)
    mgr.close()
    return elapsed, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=64, help="data per run (MB)")
    parser.add_argument("--rounds", type=int, default=3, help="best of N (the disk is shared)")
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument(
        "--policies", default="never,interval,always,always8", help="comma-separated subset"
    )
    args = parser.parse_args()
    wanted = set(args.policies.split(","))
    print(
        f"append benchmark, {args.mb} MB per run, batches of {RECORDS_PER_BATCH} records, "
        f"best of {args.rounds}"
    )
    for record_size in (100, 1024):
        batch_bytes = len(make_batches(record_size, 1)[0])
        count = max(1, args.mb * 1_000_000 // batch_bytes)
        batches = make_batches(record_size, count)
        total = sum(len(b) for b in batches)
        records = count * RECORDS_PER_BATCH
        print(f"\n{record_size}-byte records: {count} batches of {batch_bytes} bytes")
        for policy, producers in (("never", 1), ("interval", 1), ("always", 1), ("always", 8)):
            if f"{policy}{producers if producers > 1 else ''}" not in wanted:
                continue
            plain = ours = (float("inf"), float("inf"))
            stats: dict[str, int] = {}
            for _ in range(args.rounds):  # interleaved, so both see the same disk weather
                with scratch_dir(args.dir) as d:
                    plain = best(plain, plain_write(d, batches, policy, producers))
                with scratch_dir(args.dir) as d:
                    elapsed, stats = asyncio.run(storage_write(d, batches, policy, producers))
                    ours = best(ours, elapsed)
            label = f"fsync={policy}, {producers} producer{'s' if producers > 1 else ''}"
            print(row(f"plain write ({label})", total, records, plain, None))
            print(row(f"storage append ({label})", total, records, ours, plain))
            if policy == "always":
                print(f"  {'':34} fsync rounds: {stats['flush_rounds']}")


if __name__ == "__main__":
    main()
