"""Kafka's Java client (the console producer and consumer of Kafka's own tools) over SSL,
SASL_SSL with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, and mutual TLS, configured as a Java
user configures it against Kafka: PEM trust and key stores, hostname verification on (the
server certificate names 127.0.0.1), `sasl.jaas.config`."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from reference.launcher import java_command
from tests.broker_fixture import BrokerProcess
from tests.logstore.security.test_sasl_clients import PASSWORD, USER
from tests.logstore.security.tls_setup import Certs

MODES = ["SSL", "SASL_SSL-PLAIN", "SASL_SSL-SCRAM-SHA-256", "SASL_SSL-SCRAM-SHA-512", "mTLS"]
LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}
TOOL_TIMEOUT = 120


def java_client_config(certs: Certs, mode: str) -> str:
    """The properties a Java client needs for `mode` (as against Kafka)."""
    protocol, _, mechanism = mode.partition("-")
    lines = [
        f"security.protocol={'SSL' if protocol == 'mTLS' else protocol}",
        "ssl.truststore.type=PEM",
        f"ssl.truststore.location={certs.ca}",
    ]
    if mechanism:
        lines += [
            f"sasl.mechanism={mechanism}",
            f"sasl.jaas.config={LOGIN_MODULES[mechanism]} required "
            f'username="{USER}" password="{PASSWORD}";',
        ]
    if protocol == "mTLS":
        lines += ["ssl.keystore.type=PEM", f"ssl.keystore.location={certs.client('app1')}"]
    return "\n".join(lines) + "\n"


def _run(main: str, args: list[str], stdin: str = "") -> str:
    done = subprocess.run(
        java_command(main, args),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize("mode", MODES)
def test_java_console_producer_and_consumer(
    tls: BrokerProcess, certs: Certs, mode: str, tmp_path: Path
) -> None:
    listener = "SSL" if mode in ("SSL", "mTLS") else "SASL_SSL"
    bootstrap = f"127.0.0.1:{tls.ports[listener]}"
    config = tmp_path / "client.properties"
    config.write_text(java_client_config(certs, mode))
    topic = f"java-{mode.lower()}-{uuid.uuid4().hex[:6]}"
    lines = [f"{mode}-{i}" for i in range(3)]
    _run(
        "org.apache.kafka.tools.ConsoleProducer",
        ["--bootstrap-server", bootstrap, "--topic", topic, "--command-config", str(config)],
        stdin="".join(f"{line}\n" for line in lines),
    )
    out = _run(
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        [
            "--bootstrap-server", bootstrap, "--topic", topic, "--command-config", str(config),
            "--from-beginning", "--max-messages", "3", "--timeout-ms", "60000",
        ],
    )  # fmt: skip
    assert out.split() == lines
