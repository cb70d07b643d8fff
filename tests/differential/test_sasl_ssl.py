"""Differential: a SASL_SSL listener on Apache Kafka and on Odradek, configured the same way
(the same PEM certificates, PLAIN and SCRAM-SHA-256 enabled, user alice), compared on what
clients see: a good login produces, and a wrong password, an unknown user and a mechanism
the broker does not enable fail with the same error for confluent-kafka (code and sentence,
addresses and timings aside) and kafka-python (exception type). Debian's kcat (librdkafka
2.0.2) logs in with PLAIN on both and is refused SCRAM by both with the same sentence: its
SCRAM client-final message repeats the client nonce, which Kafka 4 refuses.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient

from reference.launcher import KafkaUnavailable, start_kafka
from tests.logstore.security.test_sasl_clients import PASSWORD, USER
from tests.logstore.security.tls_setup import (
    KAFKA_SCRAM_ARGS,
    Certs,
    dev_ca,
    kafka_sasl_ssl_config,
    tls_broker,
)

pytestmark = pytest.mark.kafka

ENABLED = ("PLAIN", "SCRAM-SHA-256")
CASES = {
    "good PLAIN": ("PLAIN", USER, PASSWORD),
    "good SCRAM-SHA-256": ("SCRAM-SHA-256", USER, PASSWORD),
    "wrong password PLAIN": ("PLAIN", USER, "wrong"),
    "wrong password SCRAM": ("SCRAM-SHA-256", USER, "wrong"),
    "unknown user PLAIN": ("PLAIN", "mallory", PASSWORD),
    "unknown user SCRAM": ("SCRAM-SHA-256", "mallory", PASSWORD),
    "mechanism not enabled": ("SCRAM-SHA-512", USER, PASSWORD),
}


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[str, Certs]]]:
    certs = dev_ca(tmp_path_factory.mktemp("ca") / "ca")
    try:
        kafka = start_kafka(
            tmp_path_factory.mktemp("kafka-sasl-ssl"),
            extra_config=kafka_sasl_ssl_config(certs, ENABLED),
            extra_listeners={"SASL_SSL": "SASL_SSL"},
            format_args=KAFKA_SCRAM_ARGS,
        )
    except KafkaUnavailable as exc:
        pytest.fail(f"reference Apache Kafka unavailable: {exc}", pytrace=False)
    odradek = None
    try:
        odradek = tls_broker(tmp_path_factory.mktemp("odradek-sasl-ssl"), certs, mechanisms=ENABLED)
        yield {
            "kafka": (f"127.0.0.1:{kafka.ports['SASL_SSL']}", certs),
            "odradek": (f"127.0.0.1:{odradek.ports['SASL_SSL']}", certs),
        }
    finally:
        if odradek is not None:
            odradek.stop()
        kafka.stop()


def _normalise(text: str, bootstrap: str) -> str:
    text = text.replace(bootstrap, "<broker>")
    return re.sub(r"\(after \d+ms in state (\w+)\)", r"(in state \1)", text)


def _confluent(bootstrap: str, certs: Certs, mechanism: str, user: str, password: str) -> Any:
    config = {
        "bootstrap.servers": bootstrap,
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": str(certs.ca),
        "sasl.mechanism": mechanism,
        "sasl.username": user,
        "sasl.password": password,
    }
    errors: list[KafkaError] = []
    admin = AdminClient({**config, "error_cb": errors.append})
    try:
        admin.list_topics(timeout=5)
    except KafkaException:
        admin.poll(1)
        assert errors, "refused without an error report"
        return (KafkaError(errors[0].code()).name(), _normalise(errors[0].str(), bootstrap))
    producer = Producer(config)
    producer.produce(f"sasl-ssl-{uuid.uuid4().hex[:6]}", b"hello")
    return ("produced", producer.flush(30))


def _kafka_python(bootstrap: str, certs: Certs, mechanism: str, user: str, password: str) -> Any:
    import kafka
    import kafka.errors

    try:
        producer = kafka.KafkaProducer(
            bootstrap_servers=bootstrap,
            security_protocol="SASL_SSL",
            ssl_cafile=str(certs.ca),
            sasl_mechanism=mechanism,
            sasl_plain_username=user,
            sasl_plain_password=password,
            max_block_ms=10_000,
            # A refused login retries the bootstrap until this (30 s by default).
            bootstrap_timeout_ms=8_000,
        )
    except kafka.errors.KafkaError as exc:
        return type(exc).__name__
    try:
        producer.send(f"sasl-ssl-{uuid.uuid4().hex[:6]}", b"hello").get(timeout=30)
    finally:
        producer.close()
    return "produced"


@pytest.mark.parametrize("case", list(CASES))
def test_clients_see_the_same(pair: dict[str, tuple[str, Certs]], case: str) -> None:
    mechanism, user, password = CASES[case]
    seen = {
        kind: (
            _confluent(bootstrap, certs, mechanism, user, password),
            _kafka_python(bootstrap, certs, mechanism, user, password),
        )
        for kind, (bootstrap, certs) in pair.items()
    }
    assert seen["odradek"] == seen["kafka"]
    if case.startswith("good"):
        assert seen["kafka"] == (("produced", 0), "produced")


def _kcat(bootstrap: str, certs: Certs, mechanism: str, user: str, password: str) -> str:
    """What kcat -L says: "listed" or its normalised failure line."""
    kcat = shutil.which("kcat")
    assert kcat is not None, "kcat (Debian package) is not installed"
    settings = {
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": str(certs.ca),
        "sasl.mechanism": mechanism,
        "sasl.username": user,
        "sasl.password": password,
    }
    args = [a for k, v in settings.items() for a in ("-X", f"{k}={v}")]
    result = subprocess.run(
        [kcat, "-b", bootstrap, *args, "-L", "-m", "5"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    if result.returncode == 0:
        return "listed"
    failures = [
        line for line in result.stderr.decode().splitlines() if "SASL authentication" in line
    ]
    assert failures, result.stderr.decode()
    # kcat's line starts with its own timestamp and thread name.
    return _normalise(failures[0].split(": ", 1)[1], bootstrap)


@pytest.mark.parametrize(
    "case", ["good PLAIN", "good SCRAM-SHA-256", "wrong password PLAIN", "wrong password SCRAM"]
)
def test_kcat_sees_the_same(pair: dict[str, tuple[str, Certs]], case: str) -> None:
    mechanism, user, password = CASES[case]
    seen = {
        kind: _kcat(bootstrap, certs, mechanism, user, password)
        for kind, (bootstrap, certs) in pair.items()
    }
    assert seen["odradek"] == seen["kafka"]
    if case == "good PLAIN":
        assert seen["kafka"] == "listed"
    if case == "good SCRAM-SHA-256":  # kcat's librdkafka 2.0.2 SCRAM: refused by both
        assert "invalid credentials with SASL mechanism SCRAM-SHA-256" in seen["kafka"]
