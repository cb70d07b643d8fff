"""Live-tail throughput: records per second that reach a websocket client, and server memory.

Starts the bundled broker (or uses `--bootstrap`) and the console as `make run` runs it
(daphne serving `console.asgi`, its own SQLite in a temp dir), logs in, opens the live tail
of a fresh topic over a real websocket, then produces at increasing rates. For each rate it
prints what was produced, what reached the client (rows shown and records reported as
skipped by sampling), frames per second, and the console process's resident memory.

    .venv/bin/python bench/live_tail.py [--kafka | --bootstrap HOST:PORT] [--seconds 5]
        [--rates 500,1000,2000,5000,10000,20000]

It prints figures; it asserts nothing. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import http.cookiejar
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-admin-pass-1"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_for_line(path: Path, pattern: str, proc: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"process exited: {path.read_text()}")
        found = re.search(pattern, path.read_text()) if path.exists() else None
        if found:
            return found.group(1)
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {pattern!r} in {path}")


def start_broker(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port_file = home / "broker.port"
    log = (home / "broker.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "logstore", "serve", "--data-dir", str(home / "data"),
         "--listen", "127.0.0.1:0", "--port-file", str(port_file), "--fsync", "never"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not (port_file.exists() and port_file.read_text().strip()):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"broker did not start: {(home / 'broker.log').read_text()}")
        time.sleep(0.1)
    return proc, f"127.0.0.1:{port_file.read_text().strip()}"


def start_console(home: Path, bootstrap: str) -> tuple[subprocess.Popen[bytes], str]:
    env = {**os.environ, "ODRADEK_HOME": str(home), "ODRADEK_BOOTSTRAP": bootstrap}
    env["ODRADEK_ADMIN_PASSWORD"] = PASSWORD
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    for command in (["migrate", "--noinput"], ["ensure_admin"]):
        subprocess.run([*manage, *command], env=env, cwd=ROOT, check=True, capture_output=True)
    log_path = home / "daphne.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", "0", "console.asgi:application"],
        env=env, cwd=ROOT, stdout=log_path.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    port = wait_for_line(log_path, r"Listening on TCP address 127\.0\.0\.1:(\d+)", proc, 60)
    return proc, f"127.0.0.1:{port}"


def login(console: str) -> str:
    """Log in through the form like a browser; returns the Cookie header value."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"http://{console}/accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token, "no CSRF token on the login page"
    form = urllib.parse.urlencode(
        {"username": "admin", "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)}
    ).encode()
    request = urllib.request.Request(
        f"http://{console}/accounts/login/", data=form, headers={"Referer": f"http://{console}/"}
    )
    opener.open(request).read()
    cookies = {c.name: c.value for c in jar}
    assert "sessionid" in cookies, "login failed"
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


@dataclass
class Received:
    rows: int = 0
    skipped: int = 0
    frames: int = 0
    bytes: int = 0
    live: asyncio.Event = field(default_factory=asyncio.Event)

    def snapshot(self) -> tuple[int, int, int, int]:
        return self.rows, self.skipped, self.frames, self.bytes


def client_protocol(received: Received) -> type[WebSocketClientProtocol]:
    class Client(WebSocketClientProtocol):
        def onMessage(self, payload: bytes, isBinary: bool) -> None:  # autobahn names it
            msg = json.loads(payload)
            received.bytes += len(payload)
            if msg.get("type") == "rows":
                received.rows += msg["rows"]
                received.skipped += msg["skipped"]
                received.frames += 1
            elif msg.get("state") == "live":
                received.live.set()
            elif msg.get("state") == "error":
                print("tail error:", msg.get("error"), file=sys.stderr)

    return Client


def produce_at(bootstrap: str, topic: str, rate: int, seconds: float) -> int:
    """Produce `rate` records/s for `seconds` (in 10 ms ticks); returns how many were sent."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": 1})
    tick = 0.01
    per_tick = max(1, round(rate * tick))
    sent = 0
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        for _ in range(per_tick):
            value = b'{"n":%d,"event":"page_view","path":"/products/42","ms":%d}' % (
                sent,
                sent % 997,
            )
            try:
                producer.produce(topic, value=value, key=b"user-%d" % (sent % 1000))
            except BufferError:
                producer.poll(0.01)
                continue
            sent += 1
        producer.poll(0)
        behind = start + (sent / rate) - time.monotonic()
        if behind > 0:
            time.sleep(behind)
    producer.flush(30)
    return sent


async def run(args: argparse.Namespace) -> None:
    home = Path(tempfile.mkdtemp(prefix="odradek-bench-tail-"))
    procs: list[subprocess.Popen[bytes]] = []
    stops: list[Callable[[], None]] = []
    try:
        if args.bootstrap:
            bootstrap = args.bootstrap
        elif args.kafka:
            if str(ROOT) not in sys.path:
                sys.path.insert(0, str(ROOT))
            from reference.launcher import BENCH_JVM_FLAGS, start_kafka

            kafka = start_kafka(home / "kafka", jvm_flags=BENCH_JVM_FLAGS)
            stops.append(kafka.stop)
            bootstrap = kafka.bootstrap
        else:
            broker, bootstrap = start_broker(home)
            procs.append(broker)
        console_proc, console = start_console(home, bootstrap)
        procs.append(console_proc)
        topic = f"bench-tail-{uuid.uuid4().hex[:8]}"
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic(topic, args.partitions, 1)])[topic].result(timeout=30)
        cookie = login(console)

        received = Received()
        url = f"ws://{console}/ws/clusters/local/topics/{topic}/tail/"
        factory = WebSocketClientFactory(
            url, headers={"Cookie": cookie, "Origin": f"http://{console}"}
        )
        factory.protocol = client_protocol(received)
        host, port = console.split(":")
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_connection(factory, host, int(port))
        await asyncio.wait_for(received.live.wait(), 30)

        kind = "given" if args.bootstrap else "Apache Kafka" if args.kafka else "bundled broker"
        print(f"bootstrap {bootstrap} ({kind}), "
              f"topic {topic} with {args.partitions} partitions, {args.seconds:g} s per step")  # fmt: skip
        print(f"console RSS at start: {rss_mb(console_proc.pid):.1f} MB")
        header = ("target/s", "produced/s", "rows/s", "skipped/s", "reached/s", "frames/s",
                  "kB/s", "RSS MB")  # fmt: skip
        print(" ".join(f"{h:>11}" for h in header))
        for rate in args.rates:
            before = received.snapshot()
            t0 = time.monotonic()
            sent = await asyncio.to_thread(produce_at, bootstrap, topic, rate, args.seconds)
            # Let the last frames of this step arrive before reading the counters.
            await asyncio.sleep(1.0)
            elapsed = time.monotonic() - t0 - 1.0
            rows, skipped, frames, size = (
                a - b for a, b in zip(received.snapshot(), before, strict=True)
            )
            cells = (rate, sent / elapsed, rows / elapsed, skipped / elapsed,
                     (rows + skipped) / elapsed, frames / elapsed, size / elapsed / 1000,
                     rss_mb(console_proc.pid))  # fmt: skip
            print(" ".join(f"{c:>11,.0f}" if i < 7 else f"{c:>11.1f}" for i, c in enumerate(cells)))
        transport.close()
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for stop in stops:
            stop()
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--bootstrap", help="use this cluster instead of starting the bundled broker"
    )
    parser.add_argument("--kafka", action="store_true", help="start the reference Apache Kafka")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument(
        "--rates",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[500, 1000, 2000, 5000, 10000, 20000],
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
