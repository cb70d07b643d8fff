"""SASL_PLAINTEXT on a real broker process, driven by real clients (confluent-kafka,
kafka-python, aiokafka) with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512: produce and consume
once authenticated; a wrong password or an unknown user fails as the client shows it
against Kafka.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient

from tests.broker_fixture import BrokerProcess, start_broker

MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
USER, PASSWORD = "alice", "alice-secret"


def add_scram(data_dir: Path, *specs: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "logstore", "add-scram", "--data-dir", str(data_dir), *specs],
        check=True,
        capture_output=True,
    )


def alice_data(tmp_path: Path) -> Path:
    """A data dir whose stored users are alice, with both SCRAM mechanisms."""
    data = tmp_path / "data"
    data.mkdir(parents=True, exist_ok=True)
    add_scram(
        data,
        f"SCRAM-SHA-256=[name={USER},password={PASSWORD}]",
        f"SCRAM-SHA-512=[name={USER},password={PASSWORD}]",
    )
    return data


def sasl_broker(tmp_path: Path, extra: str = "") -> BrokerProcess:
    data = alice_data(tmp_path)
    config = tmp_path / "server.properties"
    config.write_text(
        "listeners=SASL_PLAINTEXT://127.0.0.1:0\n"
        f"sasl.enabled.mechanisms={','.join(MECHANISMS)}\n{extra}"
    )
    return start_broker(data, ["--config", str(config)])


def ck_config(
    broker: BrokerProcess, mechanism: str, user: str = USER, password: str = PASSWORD
) -> dict[str, object]:
    return {
        "bootstrap.servers": broker.bootstrap,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": mechanism,
        "sasl.username": user,
        "sasl.password": password,
    }


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_confluent_kafka_produces_and_consumes(sasl: BrokerProcess, mechanism: str) -> None:
    topic = f"ck-{mechanism.lower()}-{uuid.uuid4().hex[:6]}"
    producer = Producer(ck_config(sasl, mechanism))
    producer.produce(topic, b"hello " + mechanism.encode())
    assert producer.flush(15) == 0
    consumer = Consumer(
        {**ck_config(sasl, mechanism), "group.id": topic, "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    try:
        for _ in range(30):
            msg = consumer.poll(1)
            if msg is not None and msg.error() is None:
                assert msg.value() == b"hello " + mechanism.encode()
                break
        else:
            pytest.fail("no record consumed")
    finally:
        consumer.close()


@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize(("user", "password"), [(USER, "wrong"), ("mallory", PASSWORD)])
def test_confluent_kafka_refused(
    sasl: BrokerProcess, mechanism: str, user: str, password: str
) -> None:
    errors: list[KafkaError] = []
    admin = AdminClient({**ck_config(sasl, mechanism, user, password), "error_cb": errors.append})
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=3)
    admin.poll(1)  # error_cb runs from poll
    # librdkafka reports the broker's refusal as _AUTHENTICATION with Kafka's sentence.
    assert errors, "no error reported"
    assert errors[0].code() == KafkaError._AUTHENTICATION, errors[0]
    assert "Authentication failed" in errors[0].str(), errors[0]


def kp_config(
    broker: BrokerProcess, mechanism: str, user: str = USER, password: str = PASSWORD
) -> dict[str, Any]:
    """kafka-python's and aiokafka's (shared) SASL settings."""
    return {
        "bootstrap_servers": broker.bootstrap,
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": mechanism,
        "sasl_plain_username": user,
        "sasl_plain_password": password,
    }


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_kafka_python_produces_and_consumes(sasl: BrokerProcess, mechanism: str) -> None:
    import kafka

    topic = f"kp-{mechanism.lower()}-{uuid.uuid4().hex[:6]}"
    producer = kafka.KafkaProducer(**kp_config(sasl, mechanism))
    producer.send(topic, b"kp " + mechanism.encode()).get(timeout=15)
    producer.close()
    consumer = kafka.KafkaConsumer(
        topic,
        **kp_config(sasl, mechanism),
        group_id=topic,
        auto_offset_reset="earliest",
        consumer_timeout_ms=15000,
    )
    try:
        assert next(iter(consumer)).value == b"kp " + mechanism.encode()
    finally:
        consumer.close()


@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize(("user", "password"), [(USER, "wrong"), ("mallory", PASSWORD)])
def test_kafka_python_refused(
    sasl: BrokerProcess,
    mechanism: str,
    user: str,
    password: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import kafka
    import kafka.errors

    # The console's gateway silences the "kafka" logger when it is imported, which an
    # earlier test in the same run may have done.
    caplog.set_level(logging.INFO, logger="kafka")
    # kafka-python retries the bootstrap until bootstrap_timeout_ms (30 s by default) and
    # logs each refusal; on a busy machine its first attempt alone can take a few seconds.
    with pytest.raises(kafka.errors.KafkaTimeoutError):
        kafka.KafkaProducer(
            **kp_config(sasl, mechanism, user, password),
            bootstrap_timeout_ms=8000,
            max_block_ms=8000,
        )
    refusals = [
        r.getMessage() for r in caplog.records if "SaslAuthenticationFailed" in r.getMessage()
    ]
    assert refusals, caplog.text
    assert "[Error 58]" in refusals[0], refusals[0]
    assert "Authentication failed" in refusals[0], refusals[0]


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_aiokafka_produces_and_consumes(sasl: BrokerProcess, mechanism: str) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    topic = f"aio-{mechanism.lower()}-{uuid.uuid4().hex[:6]}"

    async def scenario() -> bytes:
        producer = AIOKafkaProducer(**kp_config(sasl, mechanism))
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"aio " + mechanism.encode())
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic, **kp_config(sasl, mechanism), group_id=topic, auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            record = await asyncio.wait_for(consumer.getone(), 15)
        finally:
            await consumer.stop()
        return bytes(record.value or b"")

    assert asyncio.run(scenario()) == b"aio " + mechanism.encode()


@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize(("user", "password"), [(USER, "wrong"), ("mallory", PASSWORD)])
def test_aiokafka_refused(
    sasl: BrokerProcess,
    mechanism: str,
    user: str,
    password: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from aiokafka import AIOKafkaProducer
    from aiokafka.errors import KafkaConnectionError

    async def scenario() -> None:
        producer = AIOKafkaProducer(**kp_config(sasl, mechanism, user, password))
        try:
            await producer.start()
        finally:
            await producer.stop()

    # aiokafka gives up bootstrapping and logs the broker's refusal with its message.
    with pytest.raises(KafkaConnectionError):
        asyncio.run(scenario())
    refusals = [
        r.getMessage() for r in caplog.records if "SaslAuthenticationFailed" in r.getMessage()
    ]
    assert refusals, caplog.text
    assert "[Error 58]" in refusals[0], refusals[0]
    assert "Authentication failed" in refusals[0], refusals[0]
