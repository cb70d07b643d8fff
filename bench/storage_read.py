"""Read throughput of logstore.storage vs plain file reads of the same bytes.

Writes 100-byte and 1 KiB records in batches of 1,000, then reads everything back through
`PartitionLog.read` (1 MiB per call, as a fetch would) both copying (`to_bytes`) and
zero-copy (`os.sendfile` into a local socket drained by a thread, as a fetch to a consumer
would), next to plain `os.pread` / `os.sendfile` of one file with the same bytes, written
the same way (one write per batch). Percentages are storage speed as a share of the plain
speed (target: >= 70%). The data is in the page cache for both, which is what a tailing
consumer sees.

    .venv/bin/python bench/storage_read.py [--mb 64] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._records import RECORDS_PER_BATCH, Clock, best, make_batches, row, scratch_dir
from logstore.storage import LogManager, PartitionLog

FETCH_BYTES = 1 << 20


def plain_read(path: Path, sink: int | None) -> tuple[tuple[float, float], int]:
    fd = os.open(path, os.O_RDONLY)
    size = os.fstat(fd).st_size
    clock = Clock()
    pos = 0
    while pos < size:
        n = min(FETCH_BYTES, size - pos)
        if sink is None:
            pos += len(os.pread(fd, n, pos))
        else:
            pos += os.sendfile(sink, fd, pos, n)
    elapsed = clock.stop()
    os.close(fd)
    return elapsed, pos


def storage_read(log: PartitionLog, sink: int | None) -> tuple[tuple[float, float], int]:
    clock = Clock()
    offset, total = 0, 0
    end = log.log_end_offset
    while offset < end:
        with log.read(offset, FETCH_BYTES) as piece:
            if sink is None:
                total += len(piece.to_bytes())
            else:
                sent = 0
                while sent < piece.size:
                    sent += os.sendfile(
                        sink, piece.fileno(), piece.position + sent, piece.size - sent
                    )
                total += sent
            offset = piece.next_offset
    return clock.stop(), total


class SocketSink:
    """A connected socket pair; a thread reads and discards whatever arrives."""

    def __init__(self) -> None:
        self.tx, self.rx = socket.socketpair()
        self.tx.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        self.received = 0
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        buf = bytearray(1 << 20)
        while n := self.rx.recv_into(buf):
            self.received += n

    def fileno(self) -> int:
        return self.tx.fileno()

    def close(self) -> None:
        self.tx.close()
        self._thread.join(timeout=10)
        self.rx.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=64, help="data per run (MB)")
    parser.add_argument("--rounds", type=int, default=3, help="best of N")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    print(f"read benchmark, {args.mb} MB, {FETCH_BYTES} bytes per read, best of {args.rounds}")
    sink_socket = SocketSink()
    sink = sink_socket.fileno()
    for record_size in (100, 1024):
        batch_bytes = len(make_batches(record_size, 1)[0])
        count = max(1, args.mb * 1_000_000 // batch_bytes)
        batches = make_batches(record_size, count)
        records = count * RECORDS_PER_BATCH
        print(f"\n{record_size}-byte records: {count} batches of {batch_bytes} bytes")
        with scratch_dir(args.dir) as d:
            plain_path = d / "plain.log"
            # One write per batch, as the log (and the append bench's plain writer) does:
            # a file written in one go is laid out in larger page-cache folios and reads
            # 10-20% faster here (kernel 6.18), which measures the write pattern, not
            # the read path.
            fd = os.open(plain_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            for data in batches:
                os.write(fd, data)
            os.close(fd)
            with LogManager(d / "data", fsync="never") as mgr:
                mgr.create_topic("bench", 1, {"segment.bytes": str(256 * 1024 * 1024)})
                log = mgr.log("bench", 0)
                for data in batches:
                    log.append(data)
                for mode, target in (("pread/to_bytes", None), ("sendfile", sink)):
                    plain = ours = (float("inf"), float("inf"))
                    total = 0
                    for _ in range(args.rounds):  # interleaved, as in the append bench
                        plain = best(plain, plain_read(plain_path, target)[0])
                        elapsed, total = storage_read(log, target)
                        ours = best(ours, elapsed)
                    assert total == plain_path.stat().st_size
                    print(row(f"plain {mode}", total, records, plain, None))
                    print(row(f"storage read {mode}", total, records, ours, plain))
    sink_socket.close()


if __name__ == "__main__":
    main()
