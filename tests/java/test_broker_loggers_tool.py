"""`kafka-configs.sh --entity-type broker-loggers` (Kafka's ConfigCommand) against a broker
of its own: it lists the broker's loggers, turns the per-request logger up to DEBUG so the
broker logs every request it answers, refuses a logger that does not exist, and puts the
logger back to the root's level."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from reference.launcher import java_command
from tests.broker_fixture import start_broker

pytestmark = pytest.mark.kafka

TOOL_TIMEOUT = 90.0
REQUEST_LOGGER = "logstore.request"


def tool(bootstrap: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = ["--bootstrap-server", bootstrap, "--entity-type", "broker-loggers",
               "--entity-name", "0", *args]  # fmt: skip
    return subprocess.run(
        java_command("org.apache.kafka.tools.ConfigCommand", command),
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
        check=False,
    )


def levels(bootstrap: str) -> dict[str, str]:
    done = tool(bootstrap, "--describe")
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "Dynamic configs for broker-logger 0 are:"
    found = {}
    for line in lines[1:]:
        if line.strip():
            match = re.fullmatch(r"  (\S+)=([A-Z]+) sensitive=false synonyms=\{\}", line)
            assert match, f"not the shape of a logger line: {line!r}"
            found[match.group(1)] = match.group(2)
    return found


def test_a_logger_turned_up_and_back(tmp_path: Path) -> None:
    broker = start_broker(tmp_path / "data", ["--log-level", "INFO"])
    try:
        before = levels(broker.bootstrap)
        assert before["root"] == before[REQUEST_LOGGER] == "INFO"
        assert "logstore.storage.partition" in before
        assert "DEBUG logstore.request" not in broker.log()

        done = tool(broker.bootstrap, "--alter", "--add-config", f"{REQUEST_LOGGER}=DEBUG")
        assert done.returncode == 0, done.stderr[-2000:]
        assert levels(broker.bootstrap)[REQUEST_LOGGER] == "DEBUG"
        # The describe just above was logged as the broker answered it.
        assert "DEBUG logstore.request: completed DescribeConfigs v4" in broker.log()

        done = tool(broker.bootstrap, "--alter", "--add-config", "logstore.no.such=DEBUG")
        assert done.returncode != 0
        assert "Invalid broker logger(s): logstore.no.such" in done.stdout + done.stderr

        done = tool(broker.bootstrap, "--alter", "--delete-config", REQUEST_LOGGER)
        assert done.returncode == 0, done.stderr[-2000:]
        assert levels(broker.bootstrap) == before
    finally:
        broker.stop()
