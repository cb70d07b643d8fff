"""Fixtures shared by the TLS and SASL tests: one dev CA per test module (client
certificates app1, app2 and admin), a second unrelated CA, a broker with PLAINTEXT, SSL and
SASL_SSL listeners that asks clients for a certificate (`ssl.client.auth=requested`), and a
SASL_PLAINTEXT broker with PLAIN and both SCRAMs and user alice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.broker_fixture import BrokerProcess
from tests.logstore.security.test_sasl_clients import sasl_broker
from tests.logstore.security.tls_setup import ADMIN, APP1, APP2, Certs, dev_ca, tls_broker


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return dev_ca(tmp_path_factory.mktemp("ca") / "ca", APP1, APP2, ADMIN)


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return dev_ca(tmp_path_factory.mktemp("other") / "ca", APP1)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[BrokerProcess]:
    broker = tls_broker(tmp_path_factory.mktemp("tls"), certs, client_auth="requested")
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def sasl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    broker = sasl_broker(tmp_path_factory.mktemp("sasl"))
    try:
        yield broker
    finally:
        broker.stop()
