"""A failed SASL login is answered only after Kafka's failed-authentication delay, so
passwords cannot be tried fast; a good login is answered at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from logstore.error_codes import SASL_AUTHENTICATION_FAILED
from logstore.protocol.api_keys import ApiKey
from logstore.server.connection import FAILED_AUTHENTICATION_DELAY_S
from tests.broker_fixture import BrokerProcess
from tests.logstore.broker.wire import Wire
from tests.logstore.security.test_sasl_clients import PASSWORD, USER, sasl_broker


@pytest.fixture(scope="module")
def sasl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    broker = sasl_broker(Path(tmp_path_factory.mktemp("sasl-delay")))
    try:
        yield broker
    finally:
        broker.stop()


def _login(broker: BrokerProcess, password: str) -> tuple[int, float]:
    with Wire(broker.bootstrap) as wire:
        shake = wire.request(ApiKey.SASL_HANDSHAKE, 1, mechanism="PLAIN")
        assert shake.error_code == 0
        token = f"\0{USER}\0{password}".encode()
        started = time.monotonic()
        answer = wire.request(ApiKey.SASL_AUTHENTICATE, 2, auth_bytes=token)
        return int(answer.error_code), time.monotonic() - started


def test_a_wrong_password_is_answered_after_the_delay(sasl: BrokerProcess) -> None:
    code, took = _login(sasl, "not-" + PASSWORD)
    assert code == SASL_AUTHENTICATION_FAILED
    # A lower bound only: the answer cannot come sooner, however fast the machine.
    assert took >= FAILED_AUTHENTICATION_DELAY_S


def test_a_good_password_logs_in(sasl: BrokerProcess) -> None:
    code, _ = _login(sasl, PASSWORD)
    assert code == 0
