"""The broker's CPU per MB for kcat produce and consume, over PLAINTEXT and SASL_SSL.

A count, not a speed: the broker process's user + system CPU time, read from /proc around
each load, divided by the MB moved, so the figure holds on a busy machine (the MB/s
printed beside it does not). One broker (`--fsync never`) with a PLAINTEXT and a SASL_SSL
(PLAIN, a throwaway CA) listener; each round produces `--records` records of `--size` B
with kcat (acks=all, the settings of `bench/vs_kafka.py`) into a new topic on each
listener, then consumes them. With `--revision REV` the same runs against that older
revision's broker too (a temporary git worktree, run with this checkout's virtualenv),
alternating which goes first, for a before/after figure.

    .venv/bin/python bench/broker_cpu.py [--records 2000000] [--size 100] [--rounds 3]
                                         [--revision REV]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import bench.vs_kafka as vs_kafka  # noqa: E402
import tests.broker_fixture as broker_fixture  # noqa: E402
from bench.cpu import process_cpu_seconds as cpu_seconds  # noqa: E402
from bench.secure import Secure, make_certs, odradek_sasl_ssl  # noqa: E402


def one_round(
    tree: Path, work: Path, secure: Secure, path: Path, count: int, mb: float
) -> dict[tuple[str, str], tuple[float, float]]:
    """(listener, load) -> (CPU ms per MB, MB/s) for one fresh broker built from `tree`."""
    broker_fixture.REPO_ROOT = tree  # the broker subprocess runs from (and imports) there
    broker = odradek_sasl_ssl(work / f"odradek-{uuid.uuid4().hex[:6]}", secure.certs, "never")
    out = {}
    try:
        tls = secure.add(f"127.0.0.1:{broker.ports['SASL_SSL']}", work)
        for listener, bootstrap in (("PLAINTEXT", broker.bootstrap), ("SASL_SSL", tls)):
            topic = f"cpu-{uuid.uuid4().hex[:8]}"
            vs_kafka.create_topic(bootstrap, topic)
            before = cpu_seconds(broker.pid)
            took = vs_kafka.kcat_produce(path)(bootstrap, topic)
            produced = cpu_seconds(broker.pid)
            took_consume = vs_kafka.kcat_consume(count)(bootstrap, topic)
            consumed = cpu_seconds(broker.pid)
            out[(listener, "produce")] = ((produced - before) * 1000 / mb, mb / took)
            out[(listener, "consume")] = ((consumed - produced) * 1000 / mb, mb / took_consume)
    finally:
        broker.stop()
        broker_fixture.REPO_ROOT = REPO
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--revision", help="an older revision to measure as well")
    args = parser.parse_args()
    mb = args.records * args.size / 1e6
    with tempfile.TemporaryDirectory(prefix="broker-cpu-") as tmp:
        work = Path(tmp)
        trees = {"this checkout": REPO}
        if args.revision:
            tree = work / "older"
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), args.revision],
                check=True,
                capture_output=True,
            )
            trees = {args.revision: tree, **trees}
        try:
            path = vs_kafka.record_file(work, args.records, args.size)
            secure = Secure(make_certs(work / "ca"))
            vs_kafka.SECURE = secure
            results: dict[str, dict[tuple[str, str], list[tuple[float, float]]]] = {
                name: {} for name in trees
            }
            for round_no in range(args.rounds):
                names = list(trees)[:: 1 if round_no % 2 == 0 else -1]
                for name in names:
                    for key, value in one_round(
                        trees[name], work, secure, path, args.records, mb
                    ).items():
                        results[name].setdefault(key, []).append(value)
        finally:
            if args.revision:
                subprocess.run(
                    ["git", "-C", str(REPO), "worktree", "remove", "--force", str(work / "older")],
                    check=False,
                    capture_output=True,
                )
    print(
        f"\nbroker CPU per MB, kcat, {args.records} records of {args.size} B, --fsync never, "
        f"{args.rounds} rounds (each round's figure; MB/s beside it)"
    )
    for name, rows in results.items():
        print(f"== {name}")
        for (listener, load), values in rows.items():
            cpu = " ".join(f"{c:.2f}" for c, _ in values)
            rate = " ".join(f"{r:.0f}" for _, r in values)
            print(f"{listener:10} {load:8} ms/MB {cpu:24}  MB/s {rate}")


if __name__ == "__main__":
    main()
