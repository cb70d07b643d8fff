"""Re-authentication (KIP-368) in the SASL gate, driven by real frames and kafka-python's
own mechanism code, with a manual clock: the session lifetime a login gets, expiry, a
second exchange on the live connection, and the refusals Kafka gives when a
re-authentication changes principal or mechanism or comes too soon."""

from __future__ import annotations

import datetime
import struct
from typing import Any

import pytest
from kafka.net.sasl.plain import SaslMechanismPlain
from kafka.net.sasl.scram import SaslMechanismScram

from logstore.broker.sasl_gate import MIN_REAUTH_INTERVAL_MS, NotAuthenticatedError, SaslGate
from logstore.clock import ManualClock
from logstore.error_codes import SASL_AUTHENTICATION_FAILED
from logstore.protocol import codec
from logstore.protocol.api_keys import ApiKey
from logstore.security.credentials import CredentialStore
from logstore.security.scram import make_credential

ENABLED = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
LIFETIME_MS = 2000


@pytest.fixture
def store(tmp_path) -> CredentialStore:
    store = CredentialStore(tmp_path)
    for user in ("alice", "bob"):
        store.upsert(user, make_credential("SCRAM-SHA-256", f"{user}-secret"))
        store.upsert(user, make_credential("SCRAM-SHA-512", f"{user}-secret"))
    return store


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def _gate(store: CredentialStore, clock: ManualClock, lifetime: int = LIFETIME_MS) -> SaslGate:
    lifetimes = {"PLAIN": lifetime, "SCRAM-SHA-256": lifetime, "SCRAM-SHA-512": lifetime // 2}
    return SaslGate(ENABLED, store.get, clock, lifetimes)


def _body(api_key: int, version: int, **fields: Any) -> bytes:
    cls = codec.request_class(api_key, version)
    assert cls is not None
    header = codec.RequestHeader(api_key, version, 7, "reauth-test")
    return codec.encode_request(header, cls(**fields))[4:]


def _response(api_key: int, version: int, frame: bytes | None) -> Any:
    assert frame is not None
    (size,) = struct.unpack(">i", frame[:4])
    assert size == len(frame) - 4
    return codec.decode_response(api_key, version, frame[4:])[1]


def _client(mechanism: str, user: str) -> Any:
    config = {
        "sasl_mechanism": mechanism,
        "sasl_plain_username": user,
        "sasl_plain_password": f"{user}-secret",
        "security_protocol": "SASL_PLAINTEXT",
    }
    return SaslMechanismPlain(**config) if mechanism == "PLAIN" else SaslMechanismScram(**config)


def _login(gate: SaslGate, mechanism: str, user: str, version: int = 2) -> Any:
    """One whole exchange; the last SaslAuthenticate response (or the failing one)."""
    handshake = gate.answer(
        ApiKey.SASL_HANDSHAKE, _body(ApiKey.SASL_HANDSHAKE, 1, mechanism=mechanism)
    )
    assert not handshake.close
    assert _response(ApiKey.SASL_HANDSHAKE, 1, handshake.reply).error_code == 0
    client = _client(mechanism, user)
    while True:
        step = gate.answer(
            ApiKey.SASL_AUTHENTICATE,
            _body(ApiKey.SASL_AUTHENTICATE, version, auth_bytes=client.auth_bytes()),
        )
        response = _response(ApiKey.SASL_AUTHENTICATE, version, step.reply)
        if step.close or response.error_code != 0:
            assert step.close
            return response
        client.receive(response.auth_bytes)
        if not gate.exchanging:
            assert client.is_done()
            return response


def _lifetime(response: Any) -> int:
    return response.session_lifetime // datetime.timedelta(milliseconds=1)


@pytest.mark.parametrize(
    ("mechanism", "lifetime"),
    [("PLAIN", LIFETIME_MS), ("SCRAM-SHA-256", LIFETIME_MS), ("SCRAM-SHA-512", LIFETIME_MS // 2)],
)
def test_a_login_gets_its_mechanisms_lifetime_and_expires_after_it(
    store, clock, mechanism, lifetime
) -> None:
    gate = _gate(store, clock)
    response = _login(gate, mechanism, "alice")
    assert response.error_code == 0
    assert _lifetime(response) == lifetime
    assert gate.principal == "User:alice"
    assert gate.expires
    clock.advance(lifetime)
    assert not gate.session_expired()  # Kafka: expired only once strictly past
    clock.advance(1)
    assert gate.session_expired()


def test_without_a_lifetime_sessions_never_expire_nor_re_authenticate(store, clock) -> None:
    gate = SaslGate(ENABLED, store.get, clock)
    response = _login(gate, "PLAIN", "alice")
    assert _lifetime(response) == 0
    assert not gate.expires
    clock.advance(10**9)
    assert not gate.session_expired()
    assert not gate.begin_reauthentication()  # the handshake goes to ILLEGAL_SASL_STATE


def test_zero_or_negative_lifetime_means_none(store, clock) -> None:
    gate = _gate(store, clock, lifetime=-5)
    assert _lifetime(_login(gate, "PLAIN", "alice")) == 0
    assert not gate.expires


def test_re_authentication_renews_the_session(store, clock) -> None:
    gate = _gate(store, clock)
    _login(gate, "SCRAM-SHA-256", "alice")
    clock.advance(LIFETIME_MS + 500)
    assert gate.session_expired()
    # A handshake after expiry still starts a re-authentication, as in Kafka.
    assert gate.begin_reauthentication()
    assert gate.reauthenticating
    assert gate.principal == "User:alice"  # in-flight requests keep their principal
    response = _login(gate, "SCRAM-SHA-256", "alice")
    assert response.error_code == 0
    assert _lifetime(response) == LIFETIME_MS
    assert not gate.reauthenticating
    assert not gate.session_expired()
    clock.advance(LIFETIME_MS + 1)
    assert gate.session_expired()


def test_at_most_one_re_authentication_a_second(store, clock) -> None:
    gate = _gate(store, clock)
    _login(gate, "PLAIN", "alice")
    assert gate.begin_reauthentication()
    _login(gate, "PLAIN", "alice")
    clock.advance(MIN_REAUTH_INTERVAL_MS - 1)
    assert not gate.begin_reauthentication()
    clock.advance(1)
    assert gate.begin_reauthentication()


def test_a_changed_principal_fails_the_re_authentication(store, clock) -> None:
    gate = _gate(store, clock)
    _login(gate, "PLAIN", "alice")
    assert gate.begin_reauthentication()
    response = _login(gate, "PLAIN", "bob")
    assert response.error_code == SASL_AUTHENTICATION_FAILED
    assert response.error_message == (
        "Cannot change principals during re-authentication from User.alice: User.bob"
    )
    assert gate.principal == "User:alice"


def test_a_wrong_password_on_re_authentication_says_so(store, clock) -> None:
    gate = _gate(store, clock)
    _login(gate, "SCRAM-SHA-256", "alice")
    assert gate.begin_reauthentication()
    gate.answer(ApiKey.SASL_HANDSHAKE, _body(ApiKey.SASL_HANDSHAKE, 1, mechanism="SCRAM-SHA-256"))
    client = SaslMechanismScram(
        sasl_mechanism="SCRAM-SHA-256",
        sasl_plain_username="alice",
        sasl_plain_password="wrong",
        security_protocol="SASL_PLAINTEXT",
    )
    first = gate.answer(
        ApiKey.SASL_AUTHENTICATE,
        _body(ApiKey.SASL_AUTHENTICATE, 2, auth_bytes=client.auth_bytes()),
    )
    client.receive(_response(ApiKey.SASL_AUTHENTICATE, 2, first.reply).auth_bytes)
    final = gate.answer(
        ApiKey.SASL_AUTHENTICATE,
        _body(ApiKey.SASL_AUTHENTICATE, 2, auth_bytes=client.auth_bytes()),
    )
    assert final.close
    response = _response(ApiKey.SASL_AUTHENTICATE, 2, final.reply)
    assert response.error_code == SASL_AUTHENTICATION_FAILED
    assert response.error_message == (
        "Authentication failed during re-authentication due to invalid credentials with "
        "SASL mechanism SCRAM-SHA-256"
    )


def test_a_changed_mechanism_is_accepted_then_closed_without_an_answer(store, clock) -> None:
    gate = _gate(store, clock)
    _login(gate, "PLAIN", "alice")
    assert gate.begin_reauthentication()
    handshake = gate.answer(
        ApiKey.SASL_HANDSHAKE, _body(ApiKey.SASL_HANDSHAKE, 1, mechanism="SCRAM-SHA-512")
    )
    assert _response(ApiKey.SASL_HANDSHAKE, 1, handshake.reply).error_code == 0
    step = gate.answer(
        ApiKey.SASL_AUTHENTICATE,
        _body(
            ApiKey.SASL_AUTHENTICATE, 2, auth_bytes=_client("SCRAM-SHA-512", "alice").auth_bytes()
        ),
    )
    assert step == type(step)(None, close=True)


def test_only_the_exchange_during_re_authentication(store, clock) -> None:
    gate = _gate(store, clock)
    _login(gate, "PLAIN", "alice")
    assert gate.begin_reauthentication()
    for api_key in (ApiKey.API_VERSIONS, ApiKey.METADATA):
        with pytest.raises(NotAuthenticatedError, match="re-authentication"):
            gate.answer(
                api_key, _body(api_key, 0, **({"topics": ()} if api_key == ApiKey.METADATA else {}))
            )
