"""kill -9 of a writer process with fsync=always: every acknowledged batch survives."""

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


def run_and_kill(data_dir: Path, producers: int, acks_before_kill: int) -> list[str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.logstore.storage.crash_writer",
            str(data_dir),
            str(producers),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    lines: list[str] = []
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
            offsets = [r.offset for r in read_all(log)]
            assert offsets == list(range(log.log_end_offset)), "contiguous after recovery"
            stored[p] = {r.offset: r.key for r in read_all(log)}
        for line in acked:
            _, partition, offset, payload = line.split()
            assert stored[int(partition)].get(int(offset)) == payload.encode(), line
