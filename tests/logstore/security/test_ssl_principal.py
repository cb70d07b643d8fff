"""A client certificate's principal as Kafka's DefaultKafkaPrincipalBuilder names it: the
subject in Java's RFC 2253 form (checked against openssl's RFC 2253 printer where the two
agree, and against Java's own rules where they differ), and ssl.principal.mapping.rules
with the cases Kafka's SslPrincipalMapper is specified by."""

from __future__ import annotations

import datetime
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from logstore.security.ssl_principal import map_name, parse_rules, subject_name


def _cert(subject: x509.Name) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def _openssl_rfc2253(der: bytes) -> str:
    out = subprocess.run(
        ["openssl", "x509", "-inform", "DER", "-noout", "-subject", "-nameopt", "RFC2253"],
        input=der,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return out.strip().removeprefix("subject=")


def _name(*pairs: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    """RDNs in certificate order (least specific first)."""
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in pairs])


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (_name((NameOID.ORGANIZATIONAL_UNIT_NAME, "eng"), (NameOID.COMMON_NAME, "app1")),
         "CN=app1,OU=eng"),
        (
            _name(
                (NameOID.COUNTRY_NAME, "US"),
                (NameOID.STATE_OR_PROVINCE_NAME, "MD"),
                (NameOID.LOCALITY_NAME, "Fulton"),
                (NameOID.ORGANIZATION_NAME, "Acme, Inc"),
                (NameOID.COMMON_NAME, "Duke"),
            ),
            "CN=Duke,O=Acme\\, Inc,L=Fulton,ST=MD,C=US",
        ),
        (_name((NameOID.DOMAIN_COMPONENT, "com"), (NameOID.DOMAIN_COMPONENT, "example"),
               (NameOID.USER_ID, "u1")), "UID=u1,DC=example,DC=com"),
        (_name((NameOID.COMMON_NAME, 'a+b;c<d>"e')), 'CN=a\\+b\\;c\\<d\\>\\"e'),
    ],
)  # fmt: skip
def test_subject_in_rfc2253_form_agrees_with_openssl(subject: x509.Name, expected: str) -> None:
    der = _cert(subject)
    assert subject_name(der) == expected
    assert _openssl_rfc2253(der) == expected


@pytest.mark.parametrize(
    ("subject", "java"),
    [
        # Java escapes `=` and `#` anywhere, and leading/trailing spaces.
        (_name((NameOID.COMMON_NAME, "a=b#c")), "CN=a\\=b\\#c"),
        (_name((NameOID.COMMON_NAME, " pad ")), "CN=\\ pad\\ "),
        # Types without an RFC 2253 keyword: the OID and the value's DER bytes in hex.
        (
            _name((NameOID.EMAIL_ADDRESS, "a@b.c"), (NameOID.COMMON_NAME, "svc")),
            "CN=svc,1.2.840.113549.1.9.1=#1605614062" + b".c".hex(),
        ),
    ],
)
def test_subject_follows_java_where_openssl_differs(subject: x509.Name, java: str) -> None:
    assert subject_name(_cert(subject)) == java


RULES = (
    "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, "
    "RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L, "
    "RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U, "
    "RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U, "
    "DEFAULT"
)


@pytest.mark.parametrize(
    ("dn", "principal"),
    [
        ("CN=Duke,OU=ServiceUsers,O=Org,C=US", "duke"),
        ("CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US", "duke@sme"),
        ("cn=duke,ou=JavaSoft,dc=example,dc=com", "DUKE@JAVASOFT"),
        ("CN=Duke,OU=JavaSoft,O=Sun Microsystems,C=US", "DUKE"),
        ("OU=JavaSoft,O=Sun Microsystems,C=US", "OU=JavaSoft,O=Sun Microsystems,C=US"),
    ],
)
def test_mapping_rules_first_match_wins(dn: str, principal: str) -> None:
    assert map_name(parse_rules(RULES), dn) == principal


def test_default_keeps_the_name_and_no_match_refuses() -> None:
    assert map_name(parse_rules("DEFAULT"), "CN=app1,OU=eng") == "CN=app1,OU=eng"
    with pytest.raises(ValueError, match="No rules apply to CN=app1,OU=eng"):
        map_name(parse_rules("RULE:^CN=(.*),OU=ops$/$1/"), "CN=app1,OU=eng")


@pytest.mark.parametrize(
    "rules",
    [
        "default",
        "DEFAUL",
        "DEFAULT/L",
        "DEFAULT/U",
        "RULE:CN=(.*?),OU=ServiceUsers.*/$1",
        "RULE:CN=(.*?),OU=ServiceUsers.*/$1/L/U",
        "RULE:CN=(.*?),OU=ServiceUsers.*/L",
        "RULE:CN=(.*?),OU=ServiceUsers.*/U",
        "RULE:CN=(.*?),OU=ServiceUsers.*/LU",
        "",
    ],
)
def test_malformed_rules_are_refused(rules: str) -> None:
    with pytest.raises(ValueError):
        parse_rules(rules)
