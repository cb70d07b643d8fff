"""The fuzz harness of tests/logstore/fuzz, run long against a real broker process.

Sends structure-aware mutations of the captured client corpus over many concurrent
connections for N minutes while ApiVersions must answer within 1 s, restarting the broker
if it ever dies. Prints frames sent, broker deaths, health-check failures, hangs
(health checks unanswered within 1 s) and the Python tracebacks found in the broker log;
exits 1 on any death, health-check failure or traceback. Each broker life's log is kept
under --keep.

    .venv/bin/python bench/fuzz.py --minutes 10 [--seed 1] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.broker_fixture import start_broker
from tests.logstore.fuzz.runner import (
    Stats,
    fuzz,
    load_corpus,
    traceback_records,
)

ROUND_S = 30.0  # the broker's liveness is checked between rounds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--keep", type=Path, default=None, help="copy broker logs here")
    args = parser.parse_args()
    corpus = load_corpus()
    stats = Stats()
    deaths = 0
    records: list[str] = []
    started = time.monotonic()
    deadline = started + args.minutes * 60
    with tempfile.TemporaryDirectory(prefix="odradek-fuzz-") as tmp:
        broker = start_broker(Path(tmp) / "data")
        round_no = 0
        try:
            while time.monotonic() < deadline:
                seconds = min(ROUND_S, deadline - time.monotonic())
                seed = args.seed * 100_000 + round_no
                asyncio.run(
                    fuzz(broker.port, corpus, seconds=seconds, seed=seed,
                         connections=args.connections, stats=stats)
                )  # fmt: skip
                round_no += 1
                if not broker.running:
                    deaths += 1
                    print(f"broker died in round seed={seed}:\n{broker.log()}", flush=True)
                    broker.restart()
                elapsed = time.monotonic() - started
                print(f"[{elapsed:6.0f}s] {stats.line()}", flush=True)
        finally:
            if broker.running:
                broker.stop()
            log = broker.log_path.read_text(errors="replace")
            records = traceback_records(log)
            if args.keep is not None:
                args.keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(broker.log_path, args.keep / "broker.log")
            if records:
                print(records[0][-3000:])
    elapsed = time.monotonic() - started
    print(f"minutes:                {elapsed / 60:.1f}")
    print(f"frames sent:            {stats.frames} ({stats.frames / elapsed:.0f}/s)")
    print(f"answered / closed / silent: {stats.replies} / {stats.closed} / {stats.silent}")
    print(f"broker deaths:          {deaths}")
    print(f"health checks:          {stats.health_checks} "
          f"(slowest {stats.slowest_health_s * 1000:.0f} ms)")  # fmt: skip
    print(f"health-check failures:  {len(stats.health_failures)}")
    for failure in stats.health_failures[:10]:
        print(f"    {failure}")
    print(f"hangs:                  {stats.hangs}")
    print(f"tracebacks in the log:  {len(records)}")
    return 1 if deaths or stats.health_failures or records else 0


if __name__ == "__main__":
    sys.exit(main())
