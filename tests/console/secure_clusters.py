"""Secured clusters for the console's security tests: each broker kind with a
SASL_PLAINTEXT listener (SCRAM), an authorizer that refuses what no ACL allows, and an
`admin` super user the console connects as.

Owns fixture `secure` (one per kind and session: "odradek" is `python -m logstore serve`
with `add-scram`-bootstrapped credentials, "kafka" Apache Kafka with its SASL listener,
its PLAINTEXT listener kept for the broker itself) and `console_cluster`, which stores the
secured cluster as a console `Cluster` row with the admin's credentials. It must never
grant anything beyond `super.users`: the tests create every other right themselves.
"""

from __future__ import annotations

import atexit
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import (
    AdminClient,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from reference.launcher import KafkaUnavailable, start_kafka
from tests.broker_fixture import start_broker

ADMIN, ADMIN_PASSWORD = "admin", "admin-secret"
# A user with no rights but those a test grants it (the console's limited credentials).
LIMITED, LIMITED_PASSWORD = "limited", "limited-secret"
MECHANISM = "SCRAM-SHA-256"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
SLUG, LIMITED_SLUG = "secure", "limited"


@dataclass(frozen=True)
class SecureCluster:
    kind: str
    bootstrap: str  # the SASL_PLAINTEXT listener

    def client_config(self, user: str = ADMIN, password: str = ADMIN_PASSWORD) -> dict[str, Any]:
        return {
            "bootstrap.servers": self.bootstrap,
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": MECHANISM,
            "sasl.username": user,
            "sasl.password": password,
            "log_level": 0,
        }

    def admin(self) -> AdminClient:
        return AdminClient(self.client_config())


def _secure_odradek(tmp: Path) -> Iterator[SecureCluster]:
    data = tmp / "data"
    data.mkdir(parents=True)
    specs = [
        f"{mechanism}=[name={name},password={password}]"
        for name, password in ((ADMIN, ADMIN_PASSWORD), (LIMITED, LIMITED_PASSWORD))
        for mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-512")
    ]
    subprocess.run(
        [sys.executable, "-m", "logstore", "add-scram", "--data-dir", str(data), *specs],
        check=True,
        capture_output=True,
    )
    config = tmp / "server.properties"
    config.write_text(
        "listeners=SASL_PLAINTEXT://127.0.0.1:0\n"
        "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512\n"
        f"authorizer.class.name={AUTHORIZER}\n"
        f"super.users=User:{ADMIN}\n"
    )
    broker = start_broker(data, ["--config", str(config)])
    atexit.register(broker.stop)  # an interrupted session may skip the finalizer
    try:
        yield SecureCluster("odradek", broker.bootstrap)
    finally:
        broker.stop()


def _secure_kafka(tmp: Path) -> Iterator[SecureCluster]:
    settings = {"authorizer.class.name": AUTHORIZER, "super.users": f"User:ANONYMOUS;User:{ADMIN}"}
    try:
        kafka = start_kafka(tmp, extra_config=settings, sasl_listener=True)
    except KafkaUnavailable as exc:
        pytest.fail(f"reference Apache Kafka unavailable: {exc}", pytrace=False)
    # An interrupted session may skip the finalizer; a stray JVM holds 512 MB.
    atexit.register(kafka.stop, 10.0)
    try:
        # The PLAINTEXT listener's ANONYMOUS is a super user: it creates the admin.
        plain = AdminClient({"bootstrap.servers": kafka.bootstrap, "log_level": 0})
        info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096)
        for name, password in ((ADMIN, ADMIN_PASSWORD), (LIMITED, LIMITED_PASSWORD)):
            upsert = UserScramCredentialUpsertion(name, info, password.encode())
            for future in plain.alter_user_scram_credentials([upsert]).values():
                future.result(15)
        secure = SecureCluster("kafka", kafka.sasl_bootstrap)
        deadline = time.monotonic() + 15
        while True:  # the credential reaches the SASL listener through the metadata log
            try:
                secure.admin().list_topics(timeout=2)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
        yield secure
    finally:
        kafka.stop()


@pytest.fixture(
    scope="session",
    params=[
        pytest.param("odradek", id="odradek"),
        pytest.param("kafka", id="kafka", marks=pytest.mark.kafka),
    ],
)
def secure(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SecureCluster]:
    tmp = tmp_path_factory.mktemp(f"secure-{request.param}")
    start = _secure_kafka if request.param == "kafka" else _secure_odradek
    yield from start(tmp)


def _console_row(secure: SecureCluster, slug: str, user: str, password: str) -> None:
    from console.models import Cluster

    Cluster.objects.create(
        slug=slug,
        name=f"Secured {secure.kind} as {user}",
        bootstrap_servers=secure.bootstrap,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism=MECHANISM,
        sasl_username=user,
        sasl_password=password,
    )


@pytest.fixture
def console_cluster(secure: SecureCluster, db: Any) -> Iterator[str]:
    """The secured cluster as the console's `secure` cluster, reached as `admin`, and as
    its `limited` cluster, reached as the user with no rights of its own."""
    from console.kafka import admin

    _console_row(secure, SLUG, ADMIN, ADMIN_PASSWORD)
    _console_row(secure, LIMITED_SLUG, LIMITED, LIMITED_PASSWORD)
    admin.reset()
    yield SLUG
    admin.reset()
