"""A writer process for the kill -9 test: appends with fsync=always and prints each ack.

Run as `python -m tests.logstore.storage.crash_writer DATA_DIR PRODUCERS`. Every line
`ack PARTITION OFFSET PAYLOAD` is printed only after `wait_durable` returned, so whatever
the parent saw must survive a SIGKILL.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from logstore.records import build_batch
from logstore.storage import LogManager


async def main(data_dir: Path, producers: int) -> None:
    mgr = LogManager(data_dir, fsync="always", checkpoint_interval_ms=0).open()
    mgr.ensure_topic("crash", 2, {"internal.segment.bytes": "16384"})
    acks = 0

    async def produce(pid: int) -> None:
        nonlocal acks
        log = mgr.log("crash", pid % 2)
        seq = 0
        while True:
            payload = f"{pid}-{seq}"
            data = build_batch(
                [(payload.encode(), payload.encode() * (1 + seq % 7))] * (1 + seq % 3),
                timestamp=time.time_ns() // 1_000_000,
            )
            result = log.append(data)
            await mgr.wait_durable(log, result.last_offset)
            sys.stdout.write(f"ack {pid % 2} {result.base_offset} {payload}\n")
            sys.stdout.flush()
            acks += 1
            if acks % 40 == 0:
                mgr.tick()  # writes the recovery-point checkpoint while we run
            seq += 1

    await asyncio.gather(*(produce(i) for i in range(producers)))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2])))
