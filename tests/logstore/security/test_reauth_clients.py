"""Re-authentication (KIP-368) with a real client: a broker whose SASL sessions last 2 s,
and confluent-kafka (librdkafka re-authenticates when the broker gives a session lifetime)
producing across several lifetimes on one connection. Records keep flowing, the broker
counts the re-authentications on its metrics endpoint, and no connection had to be closed
for an expired session.

Real time passes here on purpose: the client schedules its re-authentication from the
lifetime the broker sent, on its own clock.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer

from tests.broker_fixture import BrokerProcess
from tests.logstore.security.test_sasl_clients import ck_config, sasl_broker
from tests.logstore.test_observability import _free_port, _scrape, _value

LIFETIME_MS = 2000
SESSIONS = 3  # produce for this many lifetimes


@pytest.fixture
def short_sessions(tmp_path: Path) -> Iterator[tuple[BrokerProcess, int]]:
    metrics_port = _free_port()
    broker = sasl_broker(
        tmp_path,
        f"connections.max.reauth.ms={LIFETIME_MS}\n"
        f"odradek.metrics.listen=127.0.0.1:{metrics_port}\n",
    )
    try:
        yield broker, metrics_port
    finally:
        broker.stop()


def _counter(port: int, name: str) -> float:
    return _value(_scrape(port), f"kafka_server_socket_server_metrics_{name}_total")


@pytest.mark.slow
@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-512"])
def test_confluent_kafka_re_authenticates_and_keeps_producing(
    short_sessions: tuple[BrokerProcess, int], mechanism: str
) -> None:
    broker, metrics_port = short_sessions
    topic = f"reauth-{mechanism.lower()}-{uuid.uuid4().hex[:6]}"
    errors: list[object] = []
    producer = Producer({**ck_config(broker, mechanism), "error_cb": errors.append})
    sent = 0
    deadline = time.monotonic() + SESSIONS * LIFETIME_MS / 1000
    while time.monotonic() < deadline:
        producer.produce(topic, f"record {sent}".encode())
        sent += 1
        assert producer.flush(10) == 0
        time.sleep(0.05)  # a steady trickle, so requests cross each session's end
    assert not errors, errors
    assert _counter(metrics_port, "successful_reauthentication") >= SESSIONS - 1
    assert _counter(metrics_port, "failed_reauthentication") == 0
    assert _counter(metrics_port, "expired_connections_killed_count") == 0

    consumer = Consumer(
        {**ck_config(broker, mechanism), "group.id": topic, "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    got: list[bytes] = []
    try:
        end = time.monotonic() + 30
        while len(got) < sent and time.monotonic() < end:
            msg = consumer.poll(1)
            if msg is not None and msg.error() is None:
                got.append(msg.value())
    finally:
        consumer.close()
    assert got == [f"record {i}".encode() for i in range(sent)]
