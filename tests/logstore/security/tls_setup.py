"""Test-side TLS plumbing: certificates made by `python -m logstore dev-ca` (a CA, a server
certificate for 127.0.0.1, client certificates), a second unrelated CA for "wrong CA" cases,
and brokers with PLAINTEXT, SSL and SASL_SSL listeners side by side.

Owns only test setup. It must never talk to anything but 127.0.0.1.
"""

from __future__ import annotations

import ssl
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.broker_fixture import BrokerProcess, start_broker
from tests.logstore.security.test_sasl_clients import PASSWORD, USER, alice_data

APP1, APP2, ADMIN = "CN=app1,OU=eng", "CN=app2,OU=eng", "CN=admin,OU=ops"
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class Certs:
    """One dev CA's files: `ca` (PEM CA), `server` (key + chain), `client(cn)`."""

    directory: Path

    @property
    def ca(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def server(self) -> Path:
        return self.directory / "server.pem"

    def client(self, cn: str) -> Path:
        return self.directory / f"client-{cn}.pem"

    def context(self, client: str | None = None) -> ssl.SSLContext:
        """A client-side context trusting this CA, presenting `client`'s certificate."""
        context = ssl.create_default_context(cafile=str(self.ca))
        if client is not None:
            context.load_cert_chain(self.client(client))
        return context


def dev_ca(directory: Path, *clients: str) -> Certs:
    subprocess.run(
        [
            sys.executable, "-m", "logstore", "dev-ca", str(directory),
            "--host", "127.0.0.1", "--host", "localhost",
            *(arg for client in clients for arg in ("--client", client)),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Certs(directory)


def tls_lines(certs: Certs, client_auth: str = "none") -> str:
    return (
        "ssl.keystore.type=PEM\n"
        f"ssl.keystore.location={certs.server}\n"
        "ssl.truststore.type=PEM\n"
        f"ssl.truststore.location={certs.ca}\n"
        f"ssl.client.auth={client_auth}\n"
    )


def tls_broker(
    tmp_path: Path,
    certs: Certs,
    extra: str = "",
    client_auth: str = "none",
    mechanisms: tuple[str, ...] = MECHANISMS,
) -> BrokerProcess:
    """PLAINTEXT (first: the fixture's readiness probe), SSL and SASL_SSL listeners; the
    SASL user alice has SCRAM credentials (PLAIN checks the same)."""
    data = alice_data(tmp_path)
    config = tmp_path / "server.properties"
    config.write_text(
        "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_SSL://127.0.0.1:0\n"
        f"sasl.enabled.mechanisms={','.join(mechanisms)}\n" + tls_lines(certs, client_auth) + extra
    )
    return start_broker(data, ["--config", str(config)])


def kafka_sasl_ssl_config(certs: Certs, mechanisms: tuple[str, ...] = MECHANISMS) -> dict[str, str]:
    """Apache Kafka's settings for a SASL_SSL listener like `tls_broker`'s: the same PEM
    files; SCRAM users from `kafka-storage format --add-scram` (KAFKA_SCRAM_ARGS); PLAIN,
    which Kafka checks against its JAAS file rather than the SCRAM store, given the same
    user and password."""
    prefix = "listener.name.sasl_ssl"
    return {
        "sasl.enabled.mechanisms": ",".join(mechanisms),
        f"{prefix}.plain.sasl.jaas.config": (
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'user_{USER}="{PASSWORD}";'
        ),
        **{
            f"{prefix}.{m.lower()}.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            )
            for m in mechanisms
            if m.startswith("SCRAM-")
        },
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(certs.server),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(certs.ca),
    }


KAFKA_SCRAM_ARGS = tuple(
    arg for m in MECHANISMS[1:] for arg in ("--add-scram", f"{m}=[name={USER},password={PASSWORD}]")
)
