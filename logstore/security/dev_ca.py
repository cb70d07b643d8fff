"""A throwaway certificate authority for trying TLS: `python -m logstore dev-ca DIR`.

Owns writing, into one directory, a self-signed CA (`ca.pem`), a server key and certificate
chain for the given host names and addresses (`server.pem`, a PEM keystore Kafka and
Odradek both read with `ssl.keystore.type=PEM`), client keys and certificates
(`client-NAME.pem`), and a broker config (`server.properties`: PLAINTEXT on 9092, SASL_SSL
on 9093) plus a client config (`client.properties`). Keys are EC P-256, written 0600. It
must never be used for real deployments' keys (the CA key sits next to the certificates)
and never overwrites an existing CA.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 825


@dataclass(frozen=True)
class Issued:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate


def _name(text: str) -> x509.Name:
    """`app1` is CN=app1; `CN=app1,OU=eng` is read as an RFC 4514 name."""
    if "=" in text:
        return x509.Name.from_rfc4514_string(text)
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def _issue(
    subject: x509.Name,
    issuer: Issued | None,
    *,
    ca: bool = False,
    sans: tuple[str, ...] = (),
    usage: tuple[x509.ObjectIdentifier, ...] = (),
) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        names: list[x509.GeneralName] = []
        for san in sans:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(san)))
            except ValueError:
                names.append(x509.DNSName(san))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(usage)), critical=False)
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    signer = issuer.key if issuer else key
    return Issued(key, builder.sign(signer, hashes.SHA256()))


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _keystore(path: Path, issued: Issued, ca: Issued) -> None:
    """Key, then the certificate and its CA: one PEM keystore file."""
    _write_private(path, _key_pem(issued.key) + _pem(issued.cert) + _pem(ca.cert))


def create(directory: Path, hosts: tuple[str, ...], clients: tuple[str, ...]) -> list[Path]:
    """Write the CA, the server keystore, client keystores and the two config files;
    returns the paths written. Raises FileExistsError when DIR already holds a CA."""
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / "ca.pem").exists():
        raise FileExistsError(f"{directory / 'ca.pem'} exists; choose an empty directory")
    ca = _issue(_name("CN=Odradek dev CA,O=odradek-dev"), None, ca=True)
    written = [directory / "ca.pem", directory / "ca-key.pem", directory / "server.pem"]
    (directory / "ca.pem").write_bytes(_pem(ca.cert))
    _write_private(directory / "ca-key.pem", _key_pem(ca.key))
    server = _issue(
        _name(f"CN={hosts[0]},O=odradek-dev"),
        ca,
        sans=hosts,
        usage=(ExtendedKeyUsageOID.SERVER_AUTH,),
    )
    _keystore(directory / "server.pem", server, ca)
    for client in clients:
        subject = _name(client)
        cn = subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        label = str(cn[0].value) if cn else client
        path = directory / f"client-{''.join(c if c.isalnum() else '-' for c in label)}.pem"
        _keystore(path, _issue(subject, ca, usage=(ExtendedKeyUsageOID.CLIENT_AUTH,)), ca)
        written.append(path)
    written += _configs(directory.resolve())
    return written


def _configs(directory: Path) -> list[Path]:
    server = directory / "server.properties"
    server.write_text(
        "# PLAINTEXT for local tools, SASL_SSL for everyone else (add users with add-scram)\n"
        "listeners=PLAINTEXT://127.0.0.1:9092,SASL_SSL://127.0.0.1:9093\n"
        "sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN\n"
        "ssl.keystore.type=PEM\n"
        f"ssl.keystore.location={directory / 'server.pem'}\n"
        "ssl.truststore.type=PEM\n"
        f"ssl.truststore.location={directory / 'ca.pem'}\n"
    )
    client = directory / "client.properties"
    client.write_text(
        "bootstrap.servers=127.0.0.1:9093\n"
        "security.protocol=SASL_SSL\n"
        "sasl.mechanism=SCRAM-SHA-256\n"
        "ssl.truststore.type=PEM\n"
        f"ssl.truststore.location={directory / 'ca.pem'}\n"
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
        'username="admin" password="admin-secret";\n'
    )
    return [server, client]
