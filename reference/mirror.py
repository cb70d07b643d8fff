"""Run Kafka's MirrorMaker 2 (dedicated mode) from the resolved Kafka jars.

Owns the MirrorMaker process: its command line, its log file, stopping its process
group. It must never write the configuration (`console.mirror_config` does) and never
skip: missing jars raise `KafkaUnavailable` naming the fix.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from reference.launcher import (
    REPO,
    KafkaUnavailable,
    java_binary,
    stop_process_group,
)

MAIN_CLASS = "org.apache.kafka.connect.mirror.MirrorMaker"
# Its own classpath: the newest published connect-mirror with its own runtime and clients.
MIRROR_LIBS = REPO / ".cache" / "kafka" / "mirror-libs"
LOG_CONFIG = REPO / "reference" / "kafka" / "mirror" / "log4j2.properties"


@dataclass
class MirrorMakerProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 30.0) -> None:
        stop_process_group(self.process, timeout)


def start_mirror_maker(config_path: Path) -> MirrorMakerProcess:
    """Start MirrorMaker 2 on `config_path`; its output goes to `mirror-maker.log` beside it."""
    if not any(MIRROR_LIBS.glob("connect-mirror-[0-9]*.jar")):
        raise KafkaUnavailable(
            f"no connect-mirror jar in {MIRROR_LIBS}: run reference/fetch_kafka.sh "
            "(reference/kafka/mirror/pom.xml resolves MirrorMaker 2)"
        )
    command = [
        java_binary(),
        "-Xmx256m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        f"-Dlog4j2.configurationFile={LOG_CONFIG}",
        "-cp",
        str(MIRROR_LIBS / "*"),
        MAIN_CLASS,
        str(config_path),
    ]
    log_path = config_path.parent / "mirror-maker.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=config_path.parent,
        )
    return MirrorMakerProcess(process, log_path)
