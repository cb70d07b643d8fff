"""SCRAM credentials and the server exchange: RFC 7677's vector, kafka-python's own SCRAM
client, and every way a proof can be wrong failing with Kafka's sentence."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from kafka.net.sasl.scram import ScramClient

from logstore.security.scram import (
    ScramAuthenticationFailed,
    ScramCredential,
    ScramError,
    ScramServer,
    make_credential,
    parse_add_scram,
    verify_password,
)

FAILED = (
    "Authentication failed during authentication due to invalid credentials with SASL mechanism"
)


def test_rfc7677_exchange() -> None:
    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    cred = make_credential("SCRAM-SHA-256", "pencil", iterations=4096, salt=salt)
    server = ScramServer(
        "SCRAM-SHA-256",
        {"user": cred}.get,
        nonce=lambda: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
    )
    first = server.first(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
    assert first == (
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    )
    final = server.final(
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    )
    assert final == b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    assert server.username == "user"


def _exchange(mechanism: str, stored: dict[str, ScramCredential], user: str, password: str) -> None:
    client = ScramClient(user, password, mechanism)
    server = ScramServer(mechanism, stored.get)
    client.process_server_first_message(server.first(client.first_message()))
    client.process_server_final_message(server.final(client.final_message()))


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_a_real_client_authenticates_and_checks_the_server(mechanism) -> None:
    stored = {"alice": make_credential(mechanism, "alice-secret", iterations=8192)}
    _exchange(mechanism, stored, "alice", "alice-secret")  # the client raises on a bad v=


@pytest.mark.parametrize(
    ("user", "password"), [("alice", "wrong"), ("bob", "alice-secret"), ("alice", "")]
)
def test_wrong_password_and_unknown_user_fail_alike(user, password) -> None:
    stored = {"alice": make_credential("SCRAM-SHA-512", "alice-secret")}
    with pytest.raises(ScramAuthenticationFailed) as failure:
        _exchange("SCRAM-SHA-512", stored, user, password)
    assert str(failure.value) == f"{FAILED} SCRAM-SHA-512"


def test_an_unknown_user_still_gets_a_salt_and_iterations() -> None:
    server = ScramServer("SCRAM-SHA-256", {}.get)
    attrs = dict(p.split("=", 1) for p in server.first(b"n,,n=nobody,r=abc").decode().split(","))
    assert attrs["r"].startswith("abc")
    assert len(attrs["r"]) > 3
    assert len(base64.b64decode(attrs["s"])) == 32
    assert attrs["i"] == "4096"


@pytest.mark.parametrize(
    "client_first",
    [
        b"",
        b"\xff\xfe",
        b"p=tls-unique,,n=a,r=b",
        b"n,,r=abc",
        b"n,,n=a",
        b"n,a=b,n=a,r=c",
        b"n,,n=a=ZZ,r=c",
    ],
)
def test_malformed_first_messages_fail(client_first) -> None:
    with pytest.raises(ScramAuthenticationFailed):
        ScramServer("SCRAM-SHA-256", {}.get).first(client_first)


def test_a_tampered_final_message_fails() -> None:
    stored = {"alice": make_credential("SCRAM-SHA-256", "pw-pw-pw")}
    client = ScramClient("alice", "pw-pw-pw", "SCRAM-SHA-256")
    server = ScramServer("SCRAM-SHA-256", stored.get)
    client.process_server_first_message(server.first(client.first_message()))
    good = client.final_message()
    for bad in (
        good.replace(b"r=", b"r=x", 1),  # another nonce
        good.replace(b"c=biws", b"c=cD10bHMtdW5pcXVlLCw="),  # channel binding asked
        good[: good.index(b",p=")],  # no proof
        good + b"AAAA",  # proof of the wrong length
        good[:-4] + b"!!!!",  # not base64
    ):
        with pytest.raises(ScramAuthenticationFailed):
            server.final(bad)
    assert server.final(good).startswith(b"v=")


def test_plain_checks_a_password_against_the_credential() -> None:
    cred = make_credential("SCRAM-SHA-256", "admin-secret")
    assert verify_password(cred, "admin-secret")
    assert not verify_password(cred, "admin-secreT")


def test_add_scram_syntax() -> None:
    name, cred = parse_add_scram("SCRAM-SHA-256=[name=admin,password=admin-secret]")
    assert name == "admin"
    assert cred.mechanism == "SCRAM-SHA-256"
    assert cred.iterations == 4096
    assert verify_password(cred, "admin-secret")
    name, cred = parse_add_scram('SCRAM-SHA-512=[name=alice,iterations=8192,password="a,b"]')
    assert name == "alice"
    assert cred.iterations == 8192
    assert verify_password(cred, "a,b")
    salted = make_credential("SCRAM-SHA-512", "x", salt=b"salty", iterations=5000)
    spec = (
        "SCRAM-SHA-512=[name=carol,iterations=5000,salt="
        + base64.b64encode(b"salty").decode()
        + ',saltedpassword="'
        + base64.b64encode(hashlib.pbkdf2_hmac("sha512", b"x", b"salty", 5000)).decode()
        + '"]'
    )
    assert parse_add_scram(spec)[1] == salted


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("SCRAM-SHA-1=[name=a,password=b]", "expected SCRAM-SHA-256"),
        ("SCRAM-SHA-256=[password=b]", "name= is required"),
        ("SCRAM-SHA-256=[name=a]", "password= (or salt="),
        ("SCRAM-SHA-256=[name=a,password=b,iterations=100]", "iterations must be between"),
        ("SCRAM-SHA-256=[name=a,password=b,iterations=lots]", "must be an integer"),
        ("SCRAM-SHA-256=[name=a,colour=b]", "unknown or malformed field"),
        ("SCRAM-SHA-256=[name=a,name=b,password=c]", "given twice"),
        ("SCRAM-SHA-256=[name=a,salt=***,password=c]", "not valid base64"),
        ("SCRAM-SHA-256=[name=a,saltedpassword=AAAA]", "needs salt="),
    ],
)
def test_bad_add_scram_specs(spec, message) -> None:
    with pytest.raises(ScramError, match=re.escape(message)):
        parse_add_scram(spec)
