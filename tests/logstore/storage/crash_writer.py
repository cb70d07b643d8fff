"""A writer process for the kill -9 tests: appends with fsync=always and prints each ack.

Run as `python -m tests.logstore.storage.crash_writer DATA_DIR PRODUCERS [compact]`.
Every line `ack PARTITION OFFSET KEY` is printed only after `wait_durable` returned, so
whatever the parent saw must survive a SIGKILL. In `compact` mode the topic is compacted
and the cleaner runs every few acks, so the kill can land in the middle of a rewrite.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from logstore.records import build_batch
from logstore.storage import LogManager

PLAIN = {"internal.segment.bytes": "16384"}
COMPACTED = {
    "cleanup.policy": "compact",
    "internal.segment.bytes": "2048",
    "min.cleanable.dirty.ratio": "0.01",
}


async def main(data_dir: Path, producers: int, compact: bool) -> None:
    mgr = LogManager(data_dir, fsync="always", checkpoint_interval_ms=0).open()
    mgr.ensure_topic("crash", 2, COMPACTED if compact else PLAIN)
    acks = 0

    async def produce(pid: int) -> None:
        nonlocal acks
        log = mgr.log("crash", pid % 2)
        seq = 0
        while True:
            # Compacted: few keys, each value names its producer and sequence number.
            key = f"k{seq % 5}-{pid}" if compact else f"{pid}-{seq}"
            value = f"{pid}-{seq};".encode() * (1 + seq % 7)
            data = build_batch(
                [(key.encode(), value)] * (1 + seq % 3), timestamp=time.time_ns() // 1_000_000
            )
            result = log.append(data)
            await mgr.wait_durable(log, result.last_offset)
            sys.stdout.write(f"ack {pid % 2} {result.last_offset} {key} {seq}\n")
            sys.stdout.flush()
            acks += 1
            if acks % (5 if compact else 40) == 0:
                mgr.tick()  # checkpoints, and in compact mode the cleaner
            seq += 1

    await asyncio.gather(*(produce(i) for i in range(producers)))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:] == ["compact"]))
