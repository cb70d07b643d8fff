"""Differential: re-authentication (KIP-368) on a SASL_PLAINTEXT listener of Apache Kafka
and of Odradek, both with `connections.max.reauth.ms` and users alice and bob (SCRAM-SHA-256),
driven on the raw wire so every answer can be compared: the session lifetime SaslAuthenticate
gives, a second exchange on the live connection, a handshake again within a second, another
user's credentials on re-authentication, and a request after the session expired.

Real time passes on the Kafka side (its session clock cannot be held), so the lifetime is
short and only the expiry case waits for it.
"""

from __future__ import annotations

import datetime
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka.net.sasl.scram import SaslMechanismScram
from kio.schema.metadata.v1.request import MetadataRequest
from kio.schema.metadata.v1.response import MetadataResponse
from kio.schema.sasl_authenticate.v2.request import SaslAuthenticateRequest
from kio.schema.sasl_authenticate.v2.response import SaslAuthenticateResponse
from kio.schema.sasl_handshake.v1.request import SaslHandshakeRequest
from kio.schema.sasl_handshake.v1.response import SaslHandshakeResponse

from reference.launcher import KafkaUnavailable, start_kafka
from tests.broker_fixture import start_broker
from tests.differential.wire import TIMEOUT, decode, encode, frame

pytestmark = pytest.mark.kafka

LIFETIME_MS = 3000
USERS = {"alice": "alice-secret", "bob": "bob-secret"}
MECHANISM = "SCRAM-SHA-256"
SPECS = [f"{MECHANISM}=[name={user},password={password}]" for user, password in USERS.items()]
SASL_HANDSHAKE, SASL_AUTHENTICATE, METADATA = 17, 36, 3


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    """SASL_PLAINTEXT port of each broker."""
    settings = {"connections.max.reauth.ms": str(LIFETIME_MS)}
    try:
        kafka = start_kafka(
            tmp_path_factory.mktemp("kafka-reauth"),
            extra_config=settings,
            sasl_listener=True,
            format_args=[arg for spec in SPECS for arg in ("--add-scram", spec)],
        )
    except KafkaUnavailable as exc:
        pytest.fail(f"reference Apache Kafka unavailable: {exc}", pytrace=False)
    odradek = None
    try:
        data = tmp_path_factory.mktemp("odradek-reauth") / "data"
        data.mkdir()
        subprocess.run(
            [sys.executable, "-m", "logstore", "add-scram", "--data-dir", str(data), *SPECS],
            check=True,
            capture_output=True,
        )
        config = Path(data.parent / "server.properties")
        config.write_text(
            "listeners=SASL_PLAINTEXT://127.0.0.1:0\n"
            f"sasl.enabled.mechanisms={MECHANISM}\n"
            f"connections.max.reauth.ms={LIFETIME_MS}\n"
        )
        odradek = start_broker(data, ["--config", str(config)])
        assert kafka.sasl_port is not None
        yield {"kafka": kafka.sasl_port, "odradek": odradek.port}
    finally:
        if odradek is not None:
            odradek.stop()
        kafka.stop()


class Session:
    """One raw connection; `login` runs a whole SCRAM exchange."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.correlation = 0

    def call(self, api_key: int, version: int, request: Any, response_cls: type) -> Any:
        """The decoded answer, or "closed" when the broker closed the connection."""
        self.correlation += 1
        flexible = api_key == SASL_AUTHENTICATE and version >= 2
        self.sock.sendall(frame(api_key, version, self.correlation, encode(request), flexible))
        try:
            head = self._read(4)
            payload = self._read(struct.unpack(">i", head)[0])
        except (ConnectionError, TimeoutError):
            return "closed"
        header = 5 if flexible else 4  # correlation id (+ empty tagged fields)
        assert struct.unpack(">i", payload[:4])[0] == self.correlation
        return decode(response_cls, payload[header:])

    def _read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def login(self, user: str) -> Any:
        """(handshake error, authenticate error, message, lifetime ms) or the point it closed."""
        handshake = self.call(
            SASL_HANDSHAKE, 1, SaslHandshakeRequest(mechanism=MECHANISM), SaslHandshakeResponse
        )
        if handshake == "closed" or handshake.error_code != 0:
            return ("handshake", handshake if handshake == "closed" else handshake.error_code)
        client = SaslMechanismScram(
            sasl_mechanism=MECHANISM,
            sasl_plain_username=user,
            sasl_plain_password=USERS[user],
            security_protocol="SASL_PLAINTEXT",
        )
        while True:
            answer = self.call(
                SASL_AUTHENTICATE,
                2,
                SaslAuthenticateRequest(auth_bytes=client.auth_bytes()),
                SaslAuthenticateResponse,
            )
            if answer == "closed":
                return ("authenticate", "closed")
            if answer.error_code != 0:
                return ("authenticate", answer.error_code, answer.error_message)
            client.receive(answer.auth_bytes)
            if client.is_done():
                lifetime = answer.session_lifetime // datetime.timedelta(milliseconds=1)
                return ("ok", lifetime)

    def metadata(self) -> Any:
        answer = self.call(METADATA, 1, MetadataRequest(topics=()), MetadataResponse)
        return answer if answer == "closed" else "answered"

    def close(self) -> None:
        self.sock.close()


def _both(pair: dict[str, int], scenario) -> dict[str, Any]:
    seen = {}
    for kind, port in pair.items():
        session = Session(port)
        try:
            seen[kind] = scenario(session)
        finally:
            session.close()
    return seen


def test_login_gets_the_lifetime_and_re_authentication_renews_it(pair) -> None:
    def scenario(session: Session) -> Any:
        first = session.login("alice")
        again = session.login("alice")  # right away: the first re-authentication is allowed
        too_soon = session.call(
            SASL_HANDSHAKE, 1, SaslHandshakeRequest(mechanism=MECHANISM), SaslHandshakeResponse
        )
        return first, again, too_soon.error_code, session.metadata()

    seen = _both(pair, scenario)
    assert seen["odradek"] == seen["kafka"]
    assert seen["kafka"] == (("ok", LIFETIME_MS), ("ok", LIFETIME_MS), 34, "answered")


def test_another_principal_fails_the_re_authentication(pair) -> None:
    def scenario(session: Session) -> Any:
        session.login("alice")
        return session.login("bob"), session.metadata()

    seen = _both(pair, scenario)
    assert seen["odradek"] == seen["kafka"]
    assert seen["kafka"][0][:2] == ("authenticate", 58)


def test_a_request_after_the_session_expired_closes_the_connection(pair) -> None:
    def scenario(session: Session) -> Any:
        session.login("alice")
        time.sleep(LIFETIME_MS / 1000 + 0.5)  # the Kafka side's session clock is real time
        return session.metadata()

    seen = _both(pair, scenario)
    assert seen == {"kafka": "closed", "odradek": "closed"}
