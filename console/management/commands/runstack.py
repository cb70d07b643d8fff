"""`manage.py runstack`: run the bundled broker, the console and its background workers.

Owns process supervision for `make run`: starts each child in its own session (so a
terminal Ctrl-C reaches only this supervisor), forwards SIGINT/SIGTERM as SIGTERM, waits for
every child to finish its graceful shutdown, and exits non-zero if any child failed. On
Linux each child is also told to die with the supervisor (PR_SET_PDEATHSIG), so a
`kill -9` of the supervisor leaves no orphan. It must never hold broker or page logic.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

GRACE_SECONDS = 20


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def children() -> list[tuple[str, list[str]]]:
    """The processes `make run` supervises, as (name, argv)."""
    py = sys.executable
    host, _, port = settings.ODRADEK_CONSOLE_LISTEN.rpartition(":")
    broker = [py, "-m", "logstore", "serve", "--data-dir", str(settings.ODRADEK_DATA_DIR)]
    broker += ["--listen", settings.ODRADEK_BROKER_LISTEN]
    console = [
        py,
        "-m",
        "daphne",
        "-b",
        host or "127.0.0.1",
        "-p",
        port,
        "console.asgi:application",
    ]
    return [("broker", broker), ("console", console), *settings.ODRADEK_EXTRA_PROCESSES]


class Command(BaseCommand):
    help = "Run the bundled broker and the console until Ctrl-C, then stop both cleanly."

    def handle(self, *args: Any, **options: Any) -> None:
        settings.ODRADEK_DATA_DIR.mkdir(parents=True, exist_ok=True)
        procs: dict[str, subprocess.Popen[bytes]] = {}
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        for name, argv in children():
            # The console warms its first snapshot so the first page is quick (console.asgi).
            env = {**os.environ, "ODRADEK_WARM_UP": "1"} if name == "console" else None
            procs[name] = subprocess.Popen(
                argv, start_new_session=True, preexec_fn=_die_with_parent, env=env
            )
            self.stdout.write(f"started {name} (pid {procs[name].pid})")
        self.stdout.write(
            self.style.SUCCESS(
                f"Odradek is up: broker on {settings.ODRADEK_BROKER_LISTEN}, "
                f"console on http://{settings.ODRADEK_CONSOLE_LISTEN}/  (Ctrl-C stops both)"
            )
        )
        failed = ""
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    failed = f"{name} exited with code {proc.returncode}"
                    stopping = True
                    break
            time.sleep(0.2)
        self.stdout.write("stopping…")
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        for name, proc in procs.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in {GRACE_SECONDS}s; killing it")
                proc.kill()
                proc.wait()
        if failed:
            self.stderr.write(failed)
            raise SystemExit(1)
        self.stdout.write("stopped cleanly")
