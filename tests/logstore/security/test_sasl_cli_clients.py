"""kcat and kafkajs over SASL_PLAINTEXT on a real broker process: kafkajs produces and
consumes with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 and is refused a wrong password;
kcat produces and consumes with PLAIN, and its SCRAM login is refused with Kafka's sentence.

Debian's kcat links librdkafka 2.0.2, whose SCRAM client-final message repeats the client
nonce (`r=<client><client><server>`; fixed in librdkafka 2.6.1). RFC 5802 requires the
nonce exactly as the server sent it, and Apache Kafka 4 refuses it too
(tests/differential/test_sasl_ssl.py): so does Odradek.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.broker_fixture import BrokerProcess
from tests.logstore.security.test_sasl_clients import MECHANISMS, PASSWORD, USER

JS_DIR = Path(__file__).resolve().parents[2] / "clients" / "js"
TIMEOUT = 60


def kcat_args(bootstrap: str, mechanism: str, password: str = PASSWORD) -> list[str]:
    settings = {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": mechanism,
        "sasl.username": USER,
        "sasl.password": password,
    }
    return ["-b", bootstrap, *(a for k, v in settings.items() for a in ("-X", f"{k}={v}"))]


def _kcat() -> str:
    kcat = shutil.which("kcat")
    assert kcat is not None, "kcat (Debian package) is not installed"
    return kcat


def test_kcat_produces_and_consumes_with_plain(sasl: BrokerProcess) -> None:
    kcat = _kcat()
    topic = f"kcat-plain-{uuid.uuid4().hex[:6]}"
    args = kcat_args(sasl.bootstrap, "PLAIN")
    lines = "".join(f"plain-{i}\n" for i in range(3))
    subprocess.run(
        [kcat, *args, "-P", "-t", topic], input=lines.encode(), check=True, timeout=TIMEOUT
    )
    out = subprocess.run(
        [kcat, *args, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-c", "3"],
        capture_output=True,
        check=True,
        timeout=TIMEOUT,
    )
    assert out.stdout.decode() == lines


def kcat_login_error(bootstrap: str, mechanism: str, password: str = PASSWORD) -> str:
    """kcat -L's failure output (it must fail)."""
    result = subprocess.run(
        [_kcat(), *kcat_args(bootstrap, mechanism, password), "-L", "-m", "5"],
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode != 0, result.stdout.decode()
    return result.stderr.decode()


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_kcat_scram_is_refused_as_kafka_refuses_it(sasl: BrokerProcess, mechanism: str) -> None:
    error = kcat_login_error(sasl.bootstrap, mechanism)
    assert (
        "SASL authentication error: Authentication failed during authentication due to "
        f"invalid credentials with SASL mechanism {mechanism}"
    ) in error


def test_kcat_wrong_plain_password_is_refused(sasl: BrokerProcess) -> None:
    error = kcat_login_error(sasl.bootstrap, "PLAIN", "wrong")
    assert "Authentication failed: Invalid username or password" in error


def _kafkajs(bootstrap: str, topic: str, options: dict[str, Any]) -> subprocess.CompletedProcess:
    assert (JS_DIR / "node_modules" / "kafkajs").is_dir(), "run: npm ci --prefix tests/clients/js"
    node = shutil.which("node")
    assert node is not None
    return subprocess.run(
        [node, str(JS_DIR / "tls_roundtrip.js"), bootstrap, topic, json.dumps(options)],
        capture_output=True,
        timeout=90,
        check=False,
    )


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_kafkajs_produces_and_consumes(sasl: BrokerProcess, mechanism: str) -> None:
    topic = f"kjs-{mechanism.lower()}-{uuid.uuid4().hex[:6]}"
    options = {"sasl": {"mechanism": mechanism.lower(), "username": USER, "password": PASSWORD}}
    result = _kafkajs(sasl.bootstrap, topic, options)
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.stdout)["consumed"] == [f"value-{i}" for i in range(5)]


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_kafkajs_wrong_password_is_refused(sasl: BrokerProcess, mechanism: str) -> None:
    options = {"sasl": {"mechanism": mechanism.lower(), "username": USER, "password": "wrong"}}
    result = _kafkajs(sasl.bootstrap, f"kjs-refused-{uuid.uuid4().hex[:6]}", options)
    assert result.returncode != 0
    error = result.stderr.decode()
    assert "KafkaJSSASLAuthenticationError" in error, error
    assert "Authentication failed" in error, error
