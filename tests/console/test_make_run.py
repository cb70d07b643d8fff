"""`make run`'s supervisor: both services come up, and Ctrl-C stops both with no orphan."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_runstack_serves_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    broker_port, console_port = free_port(), free_port()
    env = {
        **os.environ,
        "ODRADEK_HOME": str(tmp_path),
        "ODRADEK_BROKER_LISTEN": f"127.0.0.1:{broker_port}",
        "ODRADEK_BOOTSTRAP": f"127.0.0.1:{broker_port}",
        "ODRADEK_CONSOLE_LISTEN": f"127.0.0.1:{console_port}",
    }
    env.pop("DATABASE_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen(
        [*manage, "runstack"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert wait_for(lambda: answers(f"http://127.0.0.1:{console_port}/accounts/login/"), 60)
        assert wait_for(lambda: answers(f"http://127.0.0.1:{console_port}/healthz"), 30)
        # The page's stylesheet and htmx come from the same process (no extra web server).
        login_page = urllib.request.urlopen(f"http://127.0.0.1:{console_port}/accounts/login/")
        html = login_page.read().decode()
        assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
        assert len(assets) >= 2, html
        for asset in assets:
            assert answers(f"http://127.0.0.1:{console_port}{asset}"), asset
        assert "htmx" in html
        child_pids = [
            int(line.split("pid ")[1].rstrip(")"))
            for line in _lines_so_far(proc)
            if line.startswith("started ")
        ]
        assert len(child_pids) >= 2
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, out
        assert "stopped cleanly" in out
        assert not [pid for pid in child_pids if pid_alive(pid)]
        assert (tmp_path / "data").is_dir()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _lines_so_far(proc: subprocess.Popen[str]) -> list[str]:
    assert proc.stdout is not None
    lines = []
    while len([x for x in lines if x.startswith("started ")]) < 2:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.strip())
    return lines
