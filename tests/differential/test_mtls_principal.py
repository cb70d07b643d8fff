"""Differential: the principal of a client certificate on Apache Kafka and on Odradek, both
with `ssl.client.auth=required`, StandardAuthorizer and `allow.everyone.if.no.acl.found`.

On one topic, User:* may do anything and a DENY WRITE ACL names each certificate's
principal as Odradek spells it (`User:` + the subject in RFC 2253 form, escapes and
OID=#hex types included). If Kafka spelled a subject differently its DENY would not match
and the wildcard would let that client write: the test compares which clients may write on
both brokers, so it fails on any difference in spelling.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from logstore.security.ssl_principal import subject_name
from reference.launcher import KafkaUnavailable, start_kafka
from tests.logstore.security.tls_setup import Certs, dev_ca, tls_broker

pytestmark = pytest.mark.kafka

# Plain names, RFC 2253 escapes (`,` `=` `#` `+`) and a type Java names by OID.
CLIENTS = {
    "plain": "CN=plain,OU=eng",
    "escaped": "CN=svc\\, east,OU=a\\=b,O=Acme\\#1\\+x",
    "email": "CN=mail,1.2.840.113549.1.9.1=ops@example.com",
}
AUTHZ = {
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "allow.everyone.if.no.acl.found": "true",
}


def _label(dn: str) -> str:
    """The file name dev-ca gives the certificate (from its common name)."""
    cn = str(x509.Name.from_rfc4514_string(dn).get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
    return "".join(c if c.isalnum() else "-" for c in cn)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Certs, dict[str, str]]]:
    certs = dev_ca(tmp_path_factory.mktemp("ca") / "ca", *CLIENTS.values())
    kafka_config = {
        **AUTHZ,
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(certs.server),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(certs.ca),
        "ssl.client.auth": "required",
    }
    try:
        kafka = start_kafka(
            tmp_path_factory.mktemp("kafka-mtls"),
            extra_config=kafka_config,
            extra_listeners={"SSL": "SSL"},
        )
    except KafkaUnavailable as exc:
        pytest.fail(f"reference Apache Kafka unavailable: {exc}", pytrace=False)
    odradek = None
    try:
        odradek = tls_broker(
            tmp_path_factory.mktemp("odradek-mtls"),
            certs,
            "".join(f"{k}={v}\n" for k, v in AUTHZ.items()),
            client_auth="required",
        )
        yield (
            certs,
            {
                "kafka": (kafka.bootstrap, f"127.0.0.1:{kafka.ports['SSL']}"),
                "odradek": (odradek.bootstrap, f"127.0.0.1:{odradek.ports['SSL']}"),
            },
        )
    finally:
        if odradek is not None:
            odradek.stop()
        kafka.stop()


def _principal(certs: Certs, name: str) -> str:
    pem = certs.client(_label(CLIENTS[name])).read_bytes()
    cert = x509.load_pem_x509_certificate(pem[pem.index(b"-----BEGIN CERTIFICATE-----") :])
    return "User:" + subject_name(cert.public_bytes(Encoding.DER))


def _write(bootstrap: str, certs: Certs, name: str, topic: str) -> str:
    pem = str(certs.client(_label(CLIENTS[name])))
    errors: list[KafkaError] = []
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "security.protocol": "SSL",
            "ssl.ca.location": str(certs.ca),
            "ssl.certificate.location": pem,
            "ssl.key.location": pem,
            "message.timeout.ms": 15_000,
        }
    )
    producer.produce(topic, b"x", on_delivery=lambda err, _m: errors.append(err) if err else None)
    producer.flush(30)
    return KafkaError(errors[0].code()).name() if errors else "OK"


def test_certificate_principals_match_kafka(pair: tuple[Certs, dict]) -> None:
    certs, brokers = pair
    principals = {name: _principal(certs, name) for name in CLIENTS}
    assert principals["plain"] == "User:CN=plain,OU=eng"
    seen = {}
    for kind, (plain, tls) in brokers.items():
        denied, open_ = f"mtls-denied-{uuid.uuid4().hex[:6]}", f"mtls-open-{uuid.uuid4().hex[:6]}"
        admin = AdminClient({"bootstrap.servers": plain})
        for future in admin.create_topics([NewTopic(t, 1) for t in (denied, open_)]).values():
            future.result(30)
        anyone = AclBinding(
            ResourceType.TOPIC,
            denied,
            ResourcePatternType.LITERAL,
            "User:*",
            "*",
            AclOperation.ALL,
            AclPermissionType.ALLOW,
        )
        bindings = [anyone] + [
            AclBinding(
                ResourceType.TOPIC,
                denied,
                ResourcePatternType.LITERAL,
                principal,
                "*",
                AclOperation.WRITE,
                AclPermissionType.DENY,
            )
            for principal in principals.values()
        ]
        for future in admin.create_acls(bindings).values():
            future.result(30)
        seen[kind] = {
            name: (_write(tls, certs, name, denied), _write(tls, certs, name, open_))
            for name in CLIENTS
        }
    assert seen["odradek"] == seen["kafka"]
    assert set(seen["kafka"].values()) == {("TOPIC_AUTHORIZATION_FAILED", "OK")}
