"""Run Kafka's own VerifiableProducer / VerifiableConsumer and parse their JSON events.

Owns the command lines for the two tools (from kafka-tools, the clients Kafka's system
tests use) and turning their stdout into event dicts. It must never judge the events:
the checks (no loss, no duplicates) live in the tests, where a reader expects them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

from reference.launcher import java_command

TOOLS = "org.apache.kafka.tools."
# A JVM start plus a group join plus the work; generous, but bounded.
TOOL_TIMEOUT = 120.0


def _events(stdout: str) -> list[dict[str, Any]]:
    # The tools print one JSON object per line; anything else (a stray log line) is
    # kept as an "unparsed" event so it shows up in a failure message.
    events: list[dict[str, Any]] = []
    for line in stdout.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            events.append({"name": "unparsed", "line": line})
    return events


def run_tool(main: str, args: list[str]) -> tuple[list[dict[str, Any]], str]:
    """Run one tool to completion; (events, stderr). Raises if it exits non-zero."""
    done = subprocess.run(
        java_command(TOOLS + main, args),
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{main} exited {done.returncode}:\n{done.stderr[-3000:]}"
    return _events(done.stdout), done.stderr


def verifiable_producer(
    bootstrap: str,
    topic: str,
    count: int,
    acks: str = "all",
    throughput: int = -1,
    config: Path | None = None,
) -> list[dict[str, Any]]:
    """`config`: a producer properties file (e.g. compression.type), if any."""
    args = [
        "--bootstrap-server", bootstrap,
        "--topic", topic,
        "--max-messages", str(count),
        "--acks", "-1" if acks == "all" else acks,
        "--repeating-keys", "7",
        "--throughput", str(throughput),
    ]  # fmt: skip
    if config is not None:
        args += ["--producer.config", str(config)]
    events, _ = run_tool("VerifiableProducer", args)
    return events


def verifiable_consumer(
    bootstrap: str, topic: str, group: str, count: int, protocol: str = "classic"
) -> list[dict[str, Any]]:
    args = [
        "--bootstrap-server", bootstrap,
        "--topic", topic,
        "--group-id", group,
        "--max-messages", str(count),
        "--group-protocol", protocol,
        "--reset-policy", "earliest",
        "--verbose",
        "--close-timeout", "10000",
    ]  # fmt: skip
    if protocol == "classic":
        args += ["--session-timeout", "10000"]
    events, _ = run_tool("VerifiableConsumer", args)
    return events


def named(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("name") == name]


class ToolProcess:
    """A tool left running (e.g. a consumer with --max-messages -1), its events collected
    by a reader thread until `stop()` sends SIGTERM and the tool's shutdown hook runs."""

    def __init__(self, main: str, args: list[str]) -> None:
        self.events: list[dict[str, Any]] = []
        self.process = subprocess.Popen(
            java_command(TOOLS + main, args),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.events.extend(_events(line))

    def stop(self) -> list[dict[str, Any]]:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._reader.join(timeout=10)
        return self.events


def consumer_process(bootstrap: str, topic: str, group: str) -> ToolProcess:
    args = [
        "--bootstrap-server", bootstrap,
        "--topic", topic,
        "--group-id", group,
        "--max-messages", "-1",
        "--reset-policy", "earliest",
        "--session-timeout", "10000",
        "--verbose",
    ]  # fmt: skip
    return ToolProcess("VerifiableConsumer", args)
