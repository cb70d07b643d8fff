"""A SASL session over the stored credentials: PLAIN and both SCRAMs driven by kafka-python's
own mechanism code, with Kafka's failure sentences and the principal a success yields."""

from __future__ import annotations

import pytest
from kafka.net.sasl.plain import SaslMechanismPlain
from kafka.net.sasl.scram import SaslMechanismScram

from logstore.security.credentials import CredentialStore
from logstore.security.sasl import SaslFailed, SaslSession, UnsupportedMechanism
from logstore.security.scram import make_credential

ENABLED = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@pytest.fixture
def store(tmp_path) -> CredentialStore:
    store = CredentialStore(tmp_path)
    store.upsert("admin", make_credential("SCRAM-SHA-256", "admin-secret"))
    store.upsert("alice", make_credential("SCRAM-SHA-512", "alice-secret"))
    return store


def _client(mechanism: str, user: str, password: str):
    config = {
        "sasl_mechanism": mechanism,
        "sasl_plain_username": user,
        "sasl_plain_password": password,
        "security_protocol": "SASL_SSL",
    }
    if mechanism == "PLAIN":
        return SaslMechanismPlain(**config)
    return SaslMechanismScram(**config)


def _run(store: CredentialStore, mechanism: str, user: str, password: str) -> SaslSession:
    client = _client(mechanism, user, password)
    session = SaslSession(mechanism, ENABLED, store.get)
    while not session.complete:
        client.receive(session.step(client.auth_bytes()))
    assert client.is_done()
    return session


@pytest.mark.parametrize(
    ("mechanism", "user", "password"),
    [
        ("PLAIN", "admin", "admin-secret"),
        ("PLAIN", "alice", "alice-secret"),
        ("SCRAM-SHA-256", "admin", "admin-secret"),
        ("SCRAM-SHA-512", "alice", "alice-secret"),
    ],
)
def test_success_yields_the_principal(store, mechanism, user, password) -> None:
    assert _run(store, mechanism, user, password).principal == f"User:{user}"


@pytest.mark.parametrize(
    ("mechanism", "user", "password", "message"),
    [
        ("PLAIN", "admin", "nope", "Authentication failed: Invalid username or password"),
        ("PLAIN", "nobody", "nope", "Authentication failed: Invalid username or password"),
        (
            "SCRAM-SHA-256",
            "admin",
            "nope",
            "Authentication failed during authentication due to invalid credentials with "
            "SASL mechanism SCRAM-SHA-256",
        ),
        (
            "SCRAM-SHA-256",
            "alice",  # has only a SHA-512 credential
            "alice-secret",
            "Authentication failed during authentication due to invalid credentials with "
            "SASL mechanism SCRAM-SHA-256",
        ),
    ],
)
def test_failures_carry_kafkas_message(store, mechanism, user, password, message) -> None:
    with pytest.raises(SaslFailed) as failure:
        _run(store, mechanism, user, password)
    assert str(failure.value) == message


GENERIC_PLAIN = (
    "Authentication failed during authentication due to invalid credentials with "
    "SASL mechanism PLAIN"
)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (b"admin\0admin-secret", GENERIC_PLAIN),  # the password field is missing
        (b"\0\0admin-secret", GENERIC_PLAIN),
        (b"\0admin\0", GENERIC_PLAIN),
        (b"", GENERIC_PLAIN),
        (b"\0admin\0wrong\0admin-secret", "Authentication failed: Invalid username or password"),
        (
            b"root\0admin\0admin-secret",
            "Authentication failed: Client requested an authorization id that is different "
            "from username",
        ),
        (b"root\0admin\0wrong", "Authentication failed: Invalid username or password"),
    ],
)
def test_malformed_plain_tokens_fail_as_in_kafka(store, token, message) -> None:
    with pytest.raises(SaslFailed) as failure:
        SaslSession("PLAIN", ENABLED, store.get).step(token)
    assert str(failure.value) == message


def test_plain_ignores_fields_after_the_password(store) -> None:
    session = SaslSession("PLAIN", ENABLED, store.get)
    session.step(b"admin\0admin\0admin-secret\0trailing")
    assert session.principal == "User:admin"


def test_a_mechanism_must_be_enabled_and_known(store) -> None:
    with pytest.raises(UnsupportedMechanism):
        SaslSession("SCRAM-SHA-512", ("PLAIN",), store.get)
    with pytest.raises(UnsupportedMechanism):
        SaslSession("GSSAPI", ("GSSAPI",), store.get)


def test_no_step_after_completion(store) -> None:
    session = SaslSession("PLAIN", ENABLED, store.get)
    session.step(b"\0admin\0admin-secret")
    with pytest.raises(SaslFailed):
        session.step(b"\0admin\0admin-secret")
