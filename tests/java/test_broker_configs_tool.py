"""`kafka-configs.sh --entity-type brokers --describe --all` (Kafka's ConfigCommand) against
a broker started with a server.properties file: the file's values with source
STATIC_BROKER_CONFIG and Kafka's default as synonym, untouched settings as DEFAULT_CONFIG,
line for line as the reference Apache Kafka prints the same settings."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from reference.launcher import java_command
from tests.broker_fixture import start_broker
from tests.clusters import cluster_for

pytestmark = pytest.mark.kafka

TOOL_TIMEOUT = 90.0
LINE = re.compile(r"^  ([a-z0-9._]+)=(.*) sensitive=(true|false) synonyms=\{(.*)\}$")
# Set in both brokers' files to the same value, or in neither: printed identically.
SAME = (
    "node.id",
    "num.partitions",
    "auto.create.topics.enable",
    "default.replication.factor",
    "log.retention.check.interval.ms",
    "log.retention.hours",
    "log.retention.bytes",
    "log.segment.bytes",
    "log.cleanup.policy",
    "message.max.bytes",
    "log.cleaner.min.cleanable.ratio",
    "socket.request.max.bytes",
    "log.retention.ms",
)


def describe_all(bootstrap: str, node: str) -> list[str]:
    args = ["--bootstrap-server", bootstrap, "--entity-type", "brokers",
            "--entity-name", node, "--describe", "--all"]  # fmt: skip
    done = subprocess.run(
        java_command("org.apache.kafka.tools.ConfigCommand", args),
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return [line.rstrip() for line in done.stdout.splitlines() if line.strip()]


def by_name(lines: list[str]) -> dict[str, str]:
    out = {}
    for line in lines[1:]:
        match = LINE.match(line)
        assert match, f"not the shape of a config line: {line!r}"
        out[match.group(1)] = line
    return out


def test_describe_all_shows_the_config_file(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    config = tmp_path / "server.properties"
    config.write_text(
        # The reference broker's file sets these (reference/launcher.py).
        "node.id=1\nnum.partitions=1\nauto.create.topics.enable=true\n"
        "default.replication.factor=1\n"
        # Ours alone: shown as the operator set them.
        "log.cleaner.delete.retention.ms=3600000\nmax.connections=500\n"
    )
    ours = start_broker(tmp_path / "data", ["--config", str(config)])
    try:
        odradek = describe_all(ours.bootstrap, "1")
    finally:
        ours.stop()
    kafka = describe_all(cluster_for(request, "kafka").bootstrap, "1")

    assert odradek[0] == kafka[0] == "All configs for broker 1 are:"
    mine, reference = by_name(odradek), by_name(kafka)
    for name in SAME:
        assert mine[name] == reference[name], name
    assert mine["log.cleaner.delete.retention.ms"] == (
        "  log.cleaner.delete.retention.ms=3600000 sensitive=false synonyms="
        "{STATIC_BROKER_CONFIG:log.cleaner.delete.retention.ms=3600000, "
        "DEFAULT_CONFIG:log.cleaner.delete.retention.ms=86400000}"
    )
    assert mine["max.connections"] == (
        "  max.connections=500 sensitive=false synonyms={STATIC_BROKER_CONFIG:max.connections=500, "
        "DEFAULT_CONFIG:max.connections=2147483647}"
    )
    # Every name we describe is one Kafka describes, or one of our own `odradek.` settings.
    assert {n for n in mine if not n.startswith("odradek.")} <= set(reference)
