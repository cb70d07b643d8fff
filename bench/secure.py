"""SASL_SSL for the benchmarks: a throwaway CA (`logstore.security.dev_ca`), an Odradek
started with PLAINTEXT and SASL_SSL listeners and a user, Apache Kafka's
matching settings, and the client settings (librdkafka/kcat, Java) that reach either.

Owns only benchmark setup; it never measures anything.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from logstore.security.dev_ca import create  # noqa: E402
from tests.broker_fixture import BrokerProcess  # noqa: E402
from tests.logstore.security.test_sasl_clients import PASSWORD, USER  # noqa: E402
from tests.logstore.security.test_tls_java import LOGIN_MODULES  # noqa: E402
from tests.logstore.security.tls_setup import (  # noqa: E402
    KAFKA_SCRAM_ARGS,
    Certs,
    kafka_sasl_ssl_config,
    tls_broker,
)

# PLAIN: kcat's librdkafka (Debian's 2.0.2) repeats its client nonce in the SCRAM
# client-final message, which the broker refuses; the mechanism only costs the login.
MECHANISM = "PLAIN"


@dataclass
class Secure:
    """Client settings per bootstrap address (empty for PLAINTEXT ones)."""

    certs: Certs
    librdkafka: dict[str, dict[str, str]] = field(default_factory=dict)
    java: dict[str, Path] = field(default_factory=dict)

    def add(self, bootstrap: str, java_dir: Path) -> str:
        """Register `bootstrap` as a SASL_SSL address; returns it."""
        self.librdkafka[bootstrap] = {
            "security.protocol": "SASL_SSL",
            "ssl.ca.location": str(self.certs.ca),
            "sasl.mechanism": MECHANISM,
            "sasl.username": USER,
            "sasl.password": PASSWORD,
        }
        path = java_dir / f"client-{len(self.java)}.properties"
        path.write_text(
            "security.protocol=SASL_SSL\n"
            "ssl.truststore.type=PEM\n"
            f"ssl.truststore.location={self.certs.ca}\n"
            f"sasl.mechanism={MECHANISM}\n"
            f"sasl.jaas.config={LOGIN_MODULES[MECHANISM]} "
            f'required username="{USER}" password="{PASSWORD}";\n'
        )
        self.java[bootstrap] = path
        return bootstrap

    def settings(self, bootstrap: str) -> dict[str, str]:
        return self.librdkafka.get(bootstrap, {})

    def kcat_args(self, bootstrap: str) -> list[str]:
        return [a for k, v in self.settings(bootstrap).items() for a in ("-X", f"{k}={v}")]


def make_certs(directory: Path) -> Certs:
    create(directory, ("localhost", "127.0.0.1"), ("client",))
    return Certs(directory)


def odradek_sasl_ssl(work: Path, certs: Certs, fsync: str) -> BrokerProcess:
    return tls_broker(work, certs, f"odradek.fsync.policy={fsync}\n", mechanisms=(MECHANISM,))


def kafka_settings(certs: Certs) -> tuple[dict[str, str], dict[str, str], tuple[str, ...]]:
    """start_kafka's extra_config, extra_listeners and format_args for SASL_SSL."""
    return kafka_sasl_ssl_config(certs, (MECHANISM,)), {"SASL_SSL": "SASL_SSL"}, KAFKA_SCRAM_ARGS
