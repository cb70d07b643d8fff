"""`python -m logstore dev-ca DIR`: the three commands that turn on SASL_SSL (dev-ca,
add-scram, serve --config DIR/server.properties) give a broker a client reaches with the
written client.properties; the certificates verify as a client checks them; an existing CA
is never overwritten (exit 2)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

from confluent_kafka import Producer

from logstore.config_file import load_config_file, read_properties
from tests.broker_fixture import start_broker
from tests.logstore.security.test_tls_clients import _consume
from tests.logstore.security.tls_setup import Certs


def _logstore(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "logstore", *args], capture_output=True, text=True, timeout=60
    )


def test_three_commands_turn_on_sasl_ssl(tmp_path: Path) -> None:
    tls, data = tmp_path / "tls", tmp_path / "data"
    assert _logstore("dev-ca", str(tls)).returncode == 0
    done = _logstore(
        "add-scram", "--data-dir", str(data), "SCRAM-SHA-256=[name=admin,password=admin-secret]"
    )
    assert done.returncode == 0, done.stderr
    settings = load_config_file(tls / "server.properties").values
    assert settings["ssl_keystore_type"] == "PEM"
    assert settings["extra_listeners"] == (("SASL_SSL", "127.0.0.1", 9093),)
    # The same file, on ports of this test's choosing (9092/9093 may be taken here).
    config = tmp_path / "server.properties"
    config.write_text((tls / "server.properties").read_text().replace(":9093", ":0"))
    broker = start_broker(data, ["--config", str(config)])
    try:
        client = dict(
            (k, v) for _, k, v in read_properties((tls / "client.properties").read_text())
        )
        assert client["bootstrap.servers"] == "127.0.0.1:9093"
        assert 'username="admin" password="admin-secret"' in client["sasl.jaas.config"]
        librdkafka = {
            "bootstrap.servers": f"127.0.0.1:{broker.ports['SASL_SSL']}",
            "security.protocol": client["security.protocol"],
            "ssl.ca.location": client["ssl.truststore.location"],
            "sasl.mechanism": client["sasl.mechanism"],
            "sasl.username": "admin",
            "sasl.password": "admin-secret",
        }
        topic = f"dev-ca-{uuid.uuid4().hex[:6]}"
        producer = Producer(librdkafka)
        producer.produce(topic, b"secret hello")
        assert producer.flush(30) == 0
        assert _consume(librdkafka, topic, 1) == [b"secret hello"]
    finally:
        broker.stop()


def test_certificates_verify_for_the_names_asked(tmp_path: Path) -> None:
    done = _logstore(
        "dev-ca", str(tmp_path / "ca"), "--host", "broker.internal", "--host", "10.0.0.7",
        "--client", "CN=app1,OU=eng",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    certs = Certs(tmp_path / "ca")
    for name in ("broker.internal", "10.0.0.7"):
        check = subprocess.run(
            ["openssl", "verify", "-CAfile", str(certs.ca),
             "-verify_ip" if name[0].isdigit() else "-verify_hostname", name, str(certs.server)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert check.returncode == 0, check.stdout + check.stderr
    subject = subprocess.run(
        ["openssl", "x509", "-in", str(certs.client("app1")), "-noout", "-subject",
         "-nameopt", "RFC2253"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert subject.strip() == "subject=CN=app1,OU=eng"
    assert oct(certs.client("app1").stat().st_mode & 0o777) == "0o600"


def test_an_existing_ca_is_never_overwritten(tmp_path: Path) -> None:
    assert _logstore("dev-ca", str(tmp_path)).returncode == 0
    before = (tmp_path / "ca.pem").read_bytes()
    again = _logstore("dev-ca", str(tmp_path))
    assert again.returncode == 2
    assert "choose an empty directory" in again.stderr
    assert (tmp_path / "ca.pem").read_bytes() == before
