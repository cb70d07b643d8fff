"""kill -9 of a writer process with fsync=always: every acknowledged batch survives,
including while the cleaner rewrites segments of a compacted topic."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from logstore.storage import LogManager

from .helpers import read_all

ROOT = Path(__file__).resolve().parents[3]


def run_and_kill(data_dir: Path, producers: int, acks_before_kill: int, *mode: str) -> list[str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.logstore.storage.crash_writer",
            str(data_dir),
            str(producers),
            *mode,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    buffer = b""
    deadline = time.monotonic() + 60  # a bound on the wait, not a timing assertion
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while buffer.count(b"\n") < acks_before_kill and time.monotonic() < deadline:
            if sel.select(timeout=1):
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                buffer += chunk
    os.kill(proc.pid, signal.SIGKILL)
    rest, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, err.decode()
    buffer += rest
    lines = [line for line in buffer.decode().splitlines() if line.startswith("ack ")]
    assert len(lines) >= acks_before_kill, err.decode()
    return lines


@pytest.mark.parametrize(("producers", "acks"), [(1, 150), (8, 400)])
def test_acknowledged_appends_survive_kill_9(tmp_path: Path, producers: int, acks: int) -> None:
    acked = run_and_kill(tmp_path, producers, acks)
    with LogManager(tmp_path) as mgr:
        stored = {}
        for p in (0, 1):
            log = mgr.log("crash", p)
            assert log.recovery.error is None
            assert log.recovery.scanned_segments >= 1, "the unclean path ran"
            records = read_all(log)  # every batch's length, magic and CRC checked
            assert [r.offset for r in records] == list(range(log.log_end_offset))
            stored[p] = {r.offset: r.key for r in records}
        for line in acked:
            _, partition, last_offset, key, _ = line.split()
            assert stored[int(partition)].get(int(last_offset)) == key.encode(), line


def test_acknowledged_latest_values_survive_kill_9_during_compaction(tmp_path: Path) -> None:
    acked = run_and_kill(tmp_path, 4, 600, "compact")
    latest_acked: dict[tuple[int, bytes], int] = {}
    acked_records = 0
    for line in acked:
        _, partition, _, key, seq = line.split()
        latest_acked[(int(partition), key.encode())] = int(seq)
        acked_records += 1 + int(seq) % 3  # the writer's batches hold 1-3 records
    with LogManager(tmp_path) as mgr:
        stored_records = 0
        for p in (0, 1):
            log = mgr.log("crash", p)
            assert log.recovery.error is None
            assert len(log.segments) > 2, "the cleaner had closed segments to work on"
            stored_records += len(read_all(log))
            latest_stored: dict[bytes, int] = {}
            for record in read_all(log):
                assert record.key is not None
                assert record.value is not None
                # Values are "PID-SEQ;" repeated.
                latest_stored[record.key] = int(record.value.split(b";")[0].split(b"-")[1])
            for (partition, key), seq_acked in latest_acked.items():
                if partition == p:
                    assert latest_stored[key] >= seq_acked, key
        # The cleaner (a worker thread, installed by later ticks) removed superseded
        # records before the kill: fewer survive than were acknowledged.
        assert stored_records < acked_records, "the cleaner removed superseded records"
