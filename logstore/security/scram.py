"""SCRAM credentials (RFC 5802 / RFC 7677): deriving them and running the server's exchange.

Owns the salted-password arithmetic, the `ScramCredential` value (never the password), the
`add-scram` specification syntax Kafka's tools accept and the server side of one SCRAM
conversation. It must never do I/O or keep a plaintext password: callers load and store
credentials, and the network layer carries the bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

# Kafka's ScramMechanism bounds: fewer iterations are refused, more are pointless cost.
MIN_ITERATIONS = 4096
MAX_ITERATIONS = 16384
DEFAULT_ITERATIONS = 4096
MECHANISMS = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}


class ScramError(ValueError):
    """A malformed specification or SCRAM message; the text is shown to the operator or client."""


class ScramAuthenticationFailed(Exception):
    """Wrong password, unknown user or a broken exchange: the client sees only Kafka's sentence."""

    def __init__(self, mechanism: str) -> None:
        super().__init__(invalid_credentials(mechanism))


def invalid_credentials(mechanism: str) -> str:
    """The sentence Kafka sends for any failure whose reason it keeps from the client."""
    return (
        "Authentication failed during authentication due to invalid credentials "
        f"with SASL mechanism {mechanism}"
    )


@dataclass(frozen=True)
class ScramCredential:
    """What the broker keeps for one user and mechanism; the password cannot be recovered."""

    mechanism: str
    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes


def _hash_name(mechanism: str) -> str:
    try:
        return MECHANISMS[mechanism]
    except KeyError:
        raise ScramError(f"unknown SCRAM mechanism {mechanism!r}") from None


def _hmac(name: str, key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, name).digest()


def _check_iterations(iterations: int) -> None:
    # Checked before PBKDF2 runs, so a huge count cannot make the broker spin.
    if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
        raise ScramError(
            f"iterations must be between {MIN_ITERATIONS} and {MAX_ITERATIONS}, got {iterations}"
        )


def salted_password(mechanism: str, password: str, salt: bytes, iterations: int) -> bytes:
    """RFC 5802's Hi(): PBKDF2 with the mechanism's hash."""
    return hashlib.pbkdf2_hmac(_hash_name(mechanism), password.encode(), salt, iterations)


def credential_from_salted(
    mechanism: str, salted: bytes, salt: bytes, iterations: int
) -> ScramCredential:
    """The stored and server keys derived from a salted password."""
    name = _hash_name(mechanism)
    _check_iterations(iterations)
    client_key = _hmac(name, salted, b"Client Key")
    stored_key = hashlib.new(name, client_key).digest()
    server_key = _hmac(name, salted, b"Server Key")
    return ScramCredential(mechanism, salt, iterations, stored_key, server_key)


def make_credential(
    mechanism: str,
    password: str,
    *,
    iterations: int = DEFAULT_ITERATIONS,
    salt: bytes | None = None,
) -> ScramCredential:
    """A fresh credential for `password` (a random salt unless one is given)."""
    salt = secrets.token_bytes(32) if salt is None else salt
    _check_iterations(iterations)
    salted = salted_password(mechanism, password, salt, iterations)
    return credential_from_salted(mechanism, salted, salt, iterations)


def verify_password(credential: ScramCredential, password: str) -> bool:
    """Whether `password` is the one `credential` was made from (PLAIN checks through this)."""
    again = make_credential(
        credential.mechanism, password, iterations=credential.iterations, salt=credential.salt
    )
    return hmac.compare_digest(again.stored_key, credential.stored_key)


# -- the `SCRAM-SHA-256=[name=alice,password=secret]` syntax of kafka-storage --add-scram ----

_SPEC = re.compile(r"^\s*(SCRAM-SHA-(?:256|512))\s*=\s*\[(.*)\]\s*$", re.DOTALL)
_KEYS = {"name", "password", "iterations", "salt", "saltedpassword"}
# A value is either quoted (and may then hold commas) or runs to the next comma.
_FIELD = re.compile(r'\s*(\w+)\s*=\s*("[^"]*"|[^,]*?)\s*(?:,|$)')


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _b64(field: str, value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise ScramError(f"{field} is not valid base64: {value!r}") from None


def parse_add_scram(spec: str) -> tuple[str, ScramCredential]:
    """The user name and credential of one `MECHANISM=[key=value,...]` specification.

    Accepts either `password=` (with optional `iterations=` and `salt=`) or the pre-hashed
    `salt=` + `saltedpassword=` + `iterations=` form, as kafka-storage does.
    """
    match = _SPEC.match(spec)
    if match is None:
        raise ScramError(
            f"expected SCRAM-SHA-256=[name=USER,password=SECRET] or SCRAM-SHA-512=[...], "
            f"got {spec!r}"
        )
    mechanism, body = match.group(1), match.group(2)
    fields: dict[str, str] = {}
    position = 0
    while position < len(body):
        field = _FIELD.match(body, position)
        if field is None or field.group(1).lower() not in _KEYS:
            raise ScramError(f"unknown or malformed field at {body[position:]!r} in {spec!r}")
        key = field.group(1).lower()
        if key in fields:
            raise ScramError(f"field {key!r} given twice in {spec!r}")
        fields[key] = _unquote(field.group(2))
        position = field.end()
    name = fields.get("name", "")
    if not name:
        raise ScramError(f"name= is required in {spec!r}")
    try:
        iterations = int(fields.get("iterations", DEFAULT_ITERATIONS))
    except ValueError:
        raise ScramError(f"iterations must be an integer in {spec!r}") from None
    salt = _b64("salt", fields["salt"]) if "salt" in fields else None
    if "saltedpassword" in fields:
        if "password" in fields or salt is None:
            raise ScramError(f"saltedpassword= needs salt= and no password= in {spec!r}")
        salted = _b64("saltedpassword", fields["saltedpassword"])
        return name, credential_from_salted(mechanism, salted, salt, iterations)
    if "password" not in fields:
        raise ScramError(f"password= (or salt= and saltedpassword=) is required in {spec!r}")
    return name, make_credential(mechanism, fields["password"], iterations=iterations, salt=salt)


# -- the server side of one exchange -------------------------------------------------------


def _attributes(message: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for part in message.split(","):
        key, sep, value = part.partition("=")
        if not sep or len(key) != 1:
            raise ScramError(f"malformed SCRAM attribute {part!r}")
        pairs.setdefault(key, value)
    return pairs


def _sasl_name(value: str) -> str:
    """RFC 5802's escaping of ',' and '=' in user names."""
    if re.search(r"=(?!2C|3D)", value):
        raise ScramError("invalid user name escaping")
    return value.replace("=2C", ",").replace("=3D", "=")


class ScramServer:
    """One SCRAM conversation: `first()` answers the client's first message, `final()` its last.

    `lookup` finds a user's credential for this mechanism (None when unknown). An unknown user
    is given a made-up salt so the exchange looks the same and fails only at the proof.
    """

    def __init__(
        self,
        mechanism: str,
        lookup: Callable[[str], ScramCredential | None],
        *,
        nonce: Callable[[], str] = lambda: secrets.token_urlsafe(24),
    ) -> None:
        self.mechanism = mechanism
        self._hash = _hash_name(mechanism)
        self._lookup = lookup
        self._nonce = nonce
        self.username: str | None = None
        self._credential: ScramCredential | None = None
        self._client_first_bare = ""
        self._server_first = ""
        self._combined_nonce = ""

    def first(self, client_first: bytes) -> bytes:
        try:
            text = client_first.decode()
            gs2, sep, bare = text.partition(",")
            authzid, sep2, bare = bare.partition(",")
            if not (sep and sep2) or gs2 not in ("n", "y"):
                raise ScramError("unsupported channel binding")
            attrs = _attributes(bare)
            user, client_nonce = _sasl_name(attrs["n"]), attrs["r"]
        except (UnicodeDecodeError, KeyError, ScramError):
            raise ScramAuthenticationFailed(self.mechanism) from None
        if authzid and _sasl_name(authzid.removeprefix("a=")) != user:
            raise ScramAuthenticationFailed(self.mechanism)
        self.username = user
        self._credential = self._lookup(user)
        if self._credential is None:
            salt, iterations = secrets.token_bytes(32), DEFAULT_ITERATIONS
        else:
            salt, iterations = self._credential.salt, self._credential.iterations
        self._client_first_bare = bare
        self._combined_nonce = client_nonce + self._nonce()
        self._server_first = (
            f"r={self._combined_nonce},s={base64.b64encode(salt).decode()},i={iterations}"
        )
        return self._server_first.encode()

    def final(self, client_final: bytes) -> bytes:
        """The server's final message; raises ScramAuthenticationFailed on a wrong proof."""
        try:
            text = client_final.decode()
            without_proof, sep, proof_b64 = text.rpartition(",p=")
            attrs = _attributes(without_proof)
            proof = base64.b64decode(proof_b64, validate=True)
        except (UnicodeDecodeError, ValueError):
            raise ScramAuthenticationFailed(self.mechanism) from None
        credential = self._credential
        if (
            not sep
            or credential is None
            or attrs.get("r") != self._combined_nonce
            or attrs.get("c") not in ("biws", "eSws")  # "n,," or "y,,": no channel binding
        ):
            raise ScramAuthenticationFailed(self.mechanism)
        auth_message = f"{self._client_first_bare},{self._server_first},{without_proof}".encode()
        signature = _hmac(self._hash, credential.stored_key, auth_message)
        if len(proof) != len(signature):
            raise ScramAuthenticationFailed(self.mechanism)
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        if not hmac.compare_digest(
            hashlib.new(self._hash, client_key).digest(), credential.stored_key
        ):
            raise ScramAuthenticationFailed(self.mechanism)
        server_signature = _hmac(self._hash, credential.server_key, auth_message)
        return b"v=" + base64.b64encode(server_signature)
