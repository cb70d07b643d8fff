"""What timing every request costs while a request_percentage quota is in force.

While any request_percentage quota is set, the broker times every request's handler
(`logstore/quotas/request_time.py`), the clients without a quota too, because Kafka's
quota callback may put any client under one. Each round starts a fresh broker
(`--fsync always`) twice, once plain and once with `request_percentage=1000` set on a
client id no load uses, alternating which goes first, and times kcat producing
`--records` records of `--size` B (acks=all, default settings) and reading them back
(large queues, so librdkafka's queue-full pause stays out of the figure). Prints the
median records/s of each and their ratio.

    .venv/bin/python bench/request_quota.py [--records 2000000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from kio.schema.alter_client_quotas.v1 import request as alter  # noqa: E402

from bench.before_after import start  # noqa: E402
from logstore.protocol import codec  # noqa: E402
from logstore.protocol.codec import RequestHeader  # noqa: E402

KCAT_READ = ["-X", "queued.min.messages=10000000", "-X", "queued.max.messages.kbytes=2000000"]


def set_request_quota(port: int) -> None:
    """request_percentage=1000 on a client id the loads do not use."""
    request = alter.AlterClientQuotasRequest(
        entries=(
            alter.EntryData(
                entity=(alter.EntityData(entity_type="client-id", entity_name="elsewhere"),),
                ops=(alter.OpData(key="request_percentage", value=1000.0, remove=False),),
            ),
        ),
        validate_only=False,
    )
    frame = codec.encode_request(RequestHeader(49, 1, 1, "bench"), request)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(frame)
        size = int.from_bytes(sock.recv(4, socket.MSG_WAITALL), "big")
        _, answer = codec.decode_response(49, 1, sock.recv(size, socket.MSG_WAITALL))
    assert all(e.error_code == 0 for e in answer.entries), answer


def rates(records: Path, count: int, quota: bool) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="odradek-rq-") as tmp:
        proc, bootstrap = start(REPO, Path(tmp))
        try:
            if quota:
                set_request_quota(int(bootstrap.rsplit(":", 1)[1]))
            produce = ["kcat", "-P", "-b", bootstrap, "-X", "acks=all"]
            subprocess.run([*produce, "-t", "warm", "-l", os.devnull], check=True, timeout=60)
            begin = time.perf_counter()
            subprocess.run([*produce, "-t", "plain", "-l", str(records)], check=True, timeout=600)
            produced = count / (time.perf_counter() - begin)
            begin = time.perf_counter()
            subprocess.run(
                ["kcat", "-C", "-b", bootstrap, "-t", "plain", "-o", "beginning", "-e",
                 "-c", str(count), "-q", "-f", "", *KCAT_READ],
                check=True, timeout=600, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            return produced, count / (time.perf_counter() - begin)
        finally:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    modes = {"no request quota": False, "request quota set": True}
    seen: dict[str, list[tuple[float, float]]] = {name: [] for name in modes}
    with tempfile.TemporaryDirectory(prefix="odradek-rq-records-") as tmp:
        records = Path(tmp) / "records"
        records.write_bytes((b"x" * (args.size - 1) + b"\n") * args.records)
        for round_ in range(args.rounds):
            order = list(modes) if round_ % 2 == 0 else list(reversed(modes))
            for name in order:
                seen[name].append(rates(records, args.records, modes[name]))
    print(f"{args.records} records of {args.size} B, kcat, acks=all, --fsync always, "
          f"median of {args.rounds} rounds")  # fmt: skip
    medians = {}
    for name, values in seen.items():
        medians[name] = tuple(statistics.median(v[i] for v in values) for i in (0, 1))
        print(f"{name:<18} produce {medians[name][0]:>12,.0f} rec/s   "
              f"consume {medians[name][1]:>12,.0f} rec/s")  # fmt: skip
    with_quota, without = medians["request quota set"], medians["no request quota"]
    print(f"set / not set: produce {with_quota[0] / without[0]:.3f}, "
          f"consume {with_quota[1] / without[1]:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
