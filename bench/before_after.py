"""Plain produce of this checkout against an older revision of the broker, alternating.

Answers "did a feature slow down what did not use it?": the older revision is checked out
into a temporary git worktree and run with this checkout's virtualenv (the PYTHONPATH puts
its `logstore` first). Each round starts a fresh broker of each kind (`--fsync always`),
alternating which goes first, and times kcat sending `--records` records of `--size` B
with acks=all and default settings. Prints the median records/s of each and their ratio.

    .venv/bin/python bench/before_after.py REVISION [--records 2000000] [--rounds 7]

e.g. `bench/before_after.py 6369ce8` (the last commit before transactions).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def start(tree: Path, directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    port_file = directory / "port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "logstore", "serve", "--data-dir", str(directory / "data"),
         "--listen", "127.0.0.1:0", "--port-file", str(port_file), "--fsync", "always"],
        cwd=tree, env=dict(os.environ, PYTHONPATH=str(tree)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not (port_file.exists() and port_file.read_text().strip()):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the broker in {tree} did not start")
        time.sleep(0.05)
    return proc, f"127.0.0.1:{port_file.read_text().strip()}"


def produce_rate(tree: Path, records: Path, count: int) -> float:
    with tempfile.TemporaryDirectory(prefix="odradek-ba-") as tmp:
        proc, bootstrap = start(tree, Path(tmp))
        try:
            kcat = ["kcat", "-P", "-b", bootstrap, "-X", "acks=all"]
            subprocess.run([*kcat, "-t", "warm", "-l", os.devnull], check=True, timeout=60)
            begin = time.perf_counter()
            subprocess.run([*kcat, "-t", "plain", "-l", str(records)], check=True, timeout=600)
            return count / (time.perf_counter() - begin)
        finally:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("revision")
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="odradek-before-") as tmp:
        old = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "-q", "--detach", str(old),
                        args.revision], check=True)  # fmt: skip
        try:
            records = Path(tmp) / "records"
            records.write_bytes((b"x" * (args.size - 1) + b"\n") * args.records)
            trees = {"before": old, "now": REPO}
            rates: dict[str, list[float]] = {name: [] for name in trees}
            for round_ in range(args.rounds):
                order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
                for name in order:
                    rates[name].append(produce_rate(trees[name], records, args.records))
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)],
                           check=False)  # fmt: skip
    medians = {name: statistics.median(values) for name, values in rates.items()}
    print(f"{args.records} records of {args.size} B, kcat defaults, acks=all, --fsync always, "
          f"median of {args.rounds} rounds")  # fmt: skip
    for name, values in rates.items():
        spread = f"{min(values):,.0f}-{max(values):,.0f}"
        print(f"{name:<7} {args.revision if name == 'before' else 'HEAD':<10} "
              f"{medians[name]:>12,.0f} rec/s  ({spread})")  # fmt: skip
    print(f"now / before: {medians['now'] / medians['before']:.3f}")


if __name__ == "__main__":
    main()
