"""Broker CPU per Fetch for a consumer of many partitions: full requests vs a fetch session.

Starts Odradek, creates one topic of `--partitions` partitions with one record each, then
plays an idle, caught-up consumer (every partition at its end, `max_wait` 0) over raw
Fetch v11 requests:

- full: every request lists all partitions (session 0, epoch -1), every reply lists them;
- incremental: one full request opens a session, then each request names no partition
  and each reply carries none (nothing changed).

The broker's CPU (user + system, from /proc/PID/stat) is read before and after `--fetches`
requests of each kind, so the figure is the broker's own work per Fetch and holds on a
loaded machine (it counts CPU the broker used, not the time it waited for a core).

    .venv/bin/python bench/fetch_sessions.py [--partitions 1000] [--fetches 500]
"""

from __future__ import annotations

import argparse
import datetime
import socket
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from kio.index import load_payload_module  # noqa: E402
from kio.static.constants import EntityType  # noqa: E402

from bench.cpu import process_cpu_seconds as cpu_seconds  # noqa: E402
from logstore.protocol import codec  # noqa: E402
from tests.broker_fixture import start_broker  # noqa: E402

FETCH, VERSION = 1, 11
TOPIC = "fetch-sessions-bench"
REQ = load_payload_module(FETCH, VERSION, EntityType.request)
RESP = load_payload_module(FETCH, VERSION, EntityType.response)


class Conn:
    def __init__(self, bootstrap: str) -> None:
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.correlation = 0

    def frame(self, request: Any) -> bytes:
        self.correlation += 1
        header = codec.RequestHeader(FETCH, VERSION, self.correlation, "bench")
        return codec.encode_request(header, request)

    def send(self, raw: bytes) -> bytes:
        self.sock.sendall(raw)
        (length,) = struct.unpack(">i", self._exactly(4))
        return self._exactly(length)

    def _exactly(self, n: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < n:
            chunk = self.sock.recv(n - len(chunks))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            chunks += chunk
        return bytes(chunks)


def request(session_id: int, epoch: int, partitions: int) -> Any:
    parts = tuple(
        REQ.FetchPartition(
            partition=p,
            current_leader_epoch=-1,
            fetch_offset=1,  # caught up: each partition holds one record
            log_start_offset=-1,
            partition_max_bytes=1 << 20,
        )
        for p in range(partitions)
    )
    topics = (REQ.FetchTopic(topic=TOPIC, partitions=parts),) if parts else ()
    return REQ.FetchRequest(
        replica_id=-1,
        max_wait=datetime.timedelta(0),
        min_bytes=0,
        max_bytes=50 << 20,
        isolation_level=0,
        session_id=session_id,
        session_epoch=epoch,
        topics=topics,
        forgotten_topics_data=(),
        rack_id="",
    )


def decode(payload: bytes) -> Any:
    _, response = codec.decode_response(FETCH, VERSION, payload)
    return response


def run_full(conn: Conn, pid: int, partitions: int, fetches: int) -> tuple[float, int]:
    # Frames are built before the clock starts: the figure is the broker's work.
    frames = [conn.frame(request(0, -1, partitions)) for _ in range(fetches)]
    start = cpu_seconds(pid)
    size = 0
    for raw in frames:
        size = len(conn.send(raw))
    return cpu_seconds(pid) - start, size


def run_incremental(conn: Conn, pid: int, partitions: int, fetches: int) -> tuple[float, int]:
    opened = decode(conn.send(conn.frame(request(0, 0, partitions))))
    session_id = opened.session_id
    if not session_id:
        raise RuntimeError("the broker opened no fetch session")
    frames = [conn.frame(request(session_id, epoch, 0)) for epoch in range(1, fetches + 1)]
    start = cpu_seconds(pid)
    size = 0
    for raw in frames:
        reply = conn.send(raw)
        size = len(reply)
    used = cpu_seconds(pid) - start
    last = decode(reply)
    if last.error_code or last.responses:
        raise RuntimeError(f"unexpected incremental reply: {last}")
    return used, size


def fill(bootstrap: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
    admin.create_topics([NewTopic(TOPIC, partitions, 1)])[TOPIC].result(60)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "log_level": 3})
    for p in range(partitions):
        producer.produce(TOPIC, b"x", partition=p)
    if producer.flush(60):
        raise RuntimeError("records not delivered")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partitions", type=int, default=1000)
    parser.add_argument("--fetches", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fetch-sessions-") as tmp:
        broker = start_broker(Path(tmp) / "data", args=("--fsync", "never"))
        try:
            fill(broker.bootstrap, args.partitions)
            best: dict[str, tuple[float, int]] = {}
            for _ in range(args.rounds):
                for name, run in (("full", run_full), ("incremental", run_incremental)):
                    conn = Conn(broker.bootstrap)
                    used, size = run(conn, broker.pid, args.partitions, args.fetches)
                    conn.sock.close()
                    if name not in best or used < best[name][0]:
                        best[name] = (used, size)
        finally:
            broker.stop()
    print(
        f"\n{args.partitions} partitions, caught-up consumer, {args.fetches} fetches per "
        f"mode, best of {args.rounds} rounds (broker CPU from /proc, user+system)"
    )
    print(f"{'mode':12} {'CPU ms/fetch':>13} {'reply bytes':>12}")
    for name, (used, size) in best.items():
        print(f"{name:12} {used * 1000 / args.fetches:13.3f} {size:12,}")
    full, incremental = best["full"][0], best["incremental"][0]
    if incremental:
        print(f"full / incremental CPU per fetch: {full / incremental:.1f}x")
    else:
        # /proc counts in clock ticks (10 ms): too few fetches can cost none measurably.
        print("full / incremental CPU per fetch: not measurable, raise --fetches")


if __name__ == "__main__":
    main()
