"""A real `python -m logstore serve` subprocess on 127.0.0.1:0, for every test that needs one.

Owns starting the broker (port reported through `--port-file`), waiting until it answers an
ApiVersions request, and the ways a test may end it: `stop()` (SIGTERM, graceful),
`kill9()` (SIGKILL, a crash) and `restart()` (same data dir). Fixtures: `broker` (one per
test, its own data dir) and `shared_broker` (one per session; use unique topic names).
It must never talk to anything but 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 20.0
REPO_ROOT = Path(__file__).resolve().parent.parent
# Like the reference Kafka's test settings (reference/launcher.py): a first join answers at
# once and KIP-848 members heartbeat every second. A test that needs Kafka's defaults
# passes the flags again in `args` (the last occurrence wins).
FAST_GROUP_ARGS = (
    "--group-initial-rebalance-delay-ms", "0",
    "--group-consumer-heartbeat-interval-ms", "1000",
)  # fmt: skip


def _api_versions_ok(port: int) -> bool:
    """Send ApiVersions v0 and read any well-formed answer."""
    request = struct.pack(">hhih", 18, 0, 1, -1)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2.0) as sock:
            sock.sendall(struct.pack(">i", len(request)) + request)
            head = sock.recv(8)
            return len(head) >= 8 and struct.unpack(">ii", head)[1] == 1
    except OSError:
        return False


class BrokerProcess:
    """One broker subprocess and its data directory (kept across restarts)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        args: Sequence[str] = (),
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        """`preexec_fn` runs in the child before the broker starts (e.g. to lower its
        RLIMIT_NOFILE), at every start and restart."""
        self.data_dir = data_dir
        self.args = list(args)
        self.preexec_fn = preexec_fn
        self.port = 0
        # Every listener's port by name, when the broker has several (`listeners=`).
        self.ports: dict[str, int] = {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}.broker.log"
        self.port_file = data_dir.parent / f"{data_dir.name}.port"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, port: int = 0) -> None:
        self.port_file.unlink(missing_ok=True)
        cmd = [
            sys.executable, "-m", "logstore", "serve",
            "--data-dir", str(self.data_dir),
            "--listen", f"127.0.0.1:{port}",
            "--port-file", str(self.port_file),
            *FAST_GROUP_ARGS,
            *self.args,
        ]  # fmt: skip
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                cmd,
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                preexec_fn=self.preexec_fn,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"broker exited with {self.proc.returncode}:\n{self.log()}")
            if self.port_file.exists():
                # The first listener's port, then NAME=PORT lines with several listeners.
                first, *others = self.port_file.read_text().split() or [""]
                if first.isdigit() and _api_versions_ok(int(first)):
                    self.port = int(first)
                    self.ports = {n: int(p) for n, _, p in (o.partition("=") for o in others)}
                    return
            time.sleep(0.05)  # polling a subprocess's readiness, not waiting for time to pass
        self.kill9()
        raise RuntimeError(f"broker did not answer within {START_TIMEOUT_S}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Graceful stop; returns the exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise RuntimeError(f"broker ignored signal {sig}:\n{self.log()}") from None
        return self.proc.returncode

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def restart(self, *, same_port: bool = False) -> None:
        """Stop gracefully if still running, then start on the same data dir."""
        port = self.port if same_port else 0
        if self.running:
            self.stop()
        self.start(port)


def start_broker(data_dir: Path, args: Sequence[str] = ()) -> BrokerProcess:
    data_dir.mkdir(parents=True, exist_ok=True)
    broker = BrokerProcess(data_dir, args=args)
    broker.start()
    return broker


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[BrokerProcess]:
    """A fresh broker with its own data dir, for tests that restart or kill it."""
    proc = start_broker(tmp_path / "data")
    try:
        yield proc
    finally:
        if proc.running:
            proc.stop()


@pytest.fixture(scope="session")
def shared_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    """One broker for the whole session; tests must use unique topic names."""
    proc = start_broker(tmp_path_factory.mktemp("shared-broker") / "data")
    try:
        yield proc
    finally:
        if proc.running:
            proc.stop()
