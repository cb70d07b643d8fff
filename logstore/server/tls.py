"""The server side of TLS: an `ssl.SSLContext` from Kafka's ssl.* settings, and the client
certificate's principal once a handshake is done.

Owns reading PEM keystores and truststores (`ssl.keystore.location`, or the PEM text of
`ssl.keystore.certificate.chain` + `ssl.keystore.key`; `ssl.truststore.location` or
`ssl.truststore.certificates`), `ssl.key.password`, `ssl.client.auth` and
`ssl.enabled.protocols`, and refusing a configuration that cannot serve with a
`TlsConfigError` naming the setting (the CLI exits 2 on it). It must never read frames nor
decide what a principal may do.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from pathlib import Path

from logstore.broker.api import ANONYMOUS
from logstore.config import BrokerConfig
from logstore.security.ssl_principal import Rule, map_name, parse_rules, subject_name

_VERSIONS = {"TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}
_VERIFY = {"none": ssl.CERT_NONE, "requested": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}


class TlsConfigError(ValueError):
    """TLS settings the broker cannot serve with; the message names the setting."""


def _check_pem_type(name: str, value: str) -> None:
    if value.upper() != "PEM":
        raise TlsConfigError(
            f"{name}={value}: only PEM key and trust stores are read; set {name}=PEM "
            "(convert a JKS or PKCS12 store with keytool/openssl)"
        )


def _load_key(context: ssl.SSLContext, config: BrokerConfig) -> None:
    password = config.ssl_key_password or None
    if config.ssl_keystore_location:
        if config.ssl_keystore_certificate_chain or config.ssl_keystore_key:
            raise TlsConfigError(
                "set either ssl.keystore.location or ssl.keystore.certificate.chain with "
                "ssl.keystore.key, not both"
            )
        path = config.ssl_keystore_location
        try:
            context.load_cert_chain(path, password=password)
        except FileNotFoundError:
            raise TlsConfigError(f"ssl.keystore.location {path}: no such file") from None
        except (ssl.SSLError, OSError) as exc:
            raise TlsConfigError(
                f"ssl.keystore.location {path}: not a PEM private key with its certificate "
                f"chain, or the wrong ssl.key.password ({exc})"
            ) from None
        return
    if not (config.ssl_keystore_certificate_chain and config.ssl_keystore_key):
        raise TlsConfigError(
            "an SSL or SASL_SSL listener needs ssl.keystore.location (a PEM file with the "
            "private key and certificate chain) or ssl.keystore.certificate.chain with "
            "ssl.keystore.key"
        )
    # The ssl module loads keys from files only: a private temporary file, gone at once.
    with tempfile.TemporaryDirectory(prefix="odradek-tls-") as tmp:
        pem = Path(tmp) / "keystore.pem"
        fd = os.open(pem, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(config.ssl_keystore_key.strip() + "\n")
            out.write(config.ssl_keystore_certificate_chain.strip() + "\n")
        try:
            context.load_cert_chain(pem, password=password)
        except (ssl.SSLError, OSError) as exc:
            raise TlsConfigError(
                "ssl.keystore.certificate.chain / ssl.keystore.key: not a PEM certificate "
                f"chain and private key, or the wrong ssl.key.password ({exc})"
            ) from None


def _load_trust(context: ssl.SSLContext, config: BrokerConfig) -> None:
    location, text = config.ssl_truststore_location, config.ssl_truststore_certificates
    if not (location or text):
        if config.ssl_client_auth != "none":
            raise TlsConfigError(
                f"ssl.client.auth={config.ssl_client_auth} needs the CA that signs client "
                "certificates: ssl.truststore.location (PEM) or ssl.truststore.certificates"
            )
        return
    _check_pem_type("ssl.truststore.type", config.ssl_truststore_type)
    try:
        if location:
            context.load_verify_locations(cafile=location)
        if text:
            context.load_verify_locations(cadata=text)
    except FileNotFoundError:
        raise TlsConfigError(f"ssl.truststore.location {location}: no such file") from None
    except (ssl.SSLError, OSError, ValueError) as exc:
        where = f"ssl.truststore.location {location}" if location else "ssl.truststore.certificates"
        raise TlsConfigError(f"{where}: not PEM CA certificates ({exc})") from None


def server_context(config: BrokerConfig) -> ssl.SSLContext:
    """The context every SSL and SASL_SSL listener serves with; raises TlsConfigError."""
    _check_pem_type("ssl.keystore.type", config.ssl_keystore_type)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    versions = sorted(_VERSIONS[v] for v in config.ssl_enabled_protocols)
    context.minimum_version, context.maximum_version = versions[0], versions[-1]
    _load_key(context, config)
    _load_trust(context, config)
    context.verify_mode = _VERIFY[config.ssl_client_auth]
    try:
        parse_rules(config.ssl_principal_mapping_rules)
    except ValueError as exc:
        raise TlsConfigError(f"ssl.principal.mapping.rules: {exc}") from None
    return context


def peer_principal(ssl_object: ssl.SSLObject | None, rules: tuple[Rule, ...]) -> str:
    """Kafka's principal for a TLS connection: `User:` + the client certificate's subject
    (mapped by ssl.principal.mapping.rules), ANONYMOUS without a client certificate.
    Raises ValueError when no mapping rule applies."""
    if ssl_object is None:
        return ANONYMOUS
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return ANONYMOUS
    return "User:" + map_name(rules, subject_name(der))
