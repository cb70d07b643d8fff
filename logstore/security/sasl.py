"""One connection's SASL authentication as bytes in, bytes out: mechanism choice, PLAIN, SCRAM.

Owns the handshake's mechanism check, the PLAIN and SCRAM steps and the principal a success
yields ("User:name"), with the sentences Kafka sends on failure. It must never do I/O, sleep
or encode Kafka frames: the connection carries the tokens, delays failures and builds replies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from logstore.security.scram import (
    MECHANISMS as SCRAM_MECHANISMS,
)
from logstore.security.scram import (
    ScramAuthenticationFailed,
    ScramCredential,
    ScramServer,
    invalid_credentials,
    verify_password,
)

PLAIN = "PLAIN"
# PLAIN checks a password against any stored SCRAM credential; the strongest is tried first.
_PLAIN_VERIFIERS = ("SCRAM-SHA-512", "SCRAM-SHA-256")
Lookup = Callable[[str, str], ScramCredential | None]  # (user, mechanism) -> credential


class SaslFailed(Exception):
    """Authentication failed; str() is the message Kafka sends with SASL_AUTHENTICATION_FAILED."""


class UnsupportedMechanism(Exception):
    """The handshake named a mechanism this listener does not enable (Kafka's error 33)."""


class SaslSession:
    """The server side of one authentication: `step()` until `principal` is set."""

    def __init__(self, mechanism: str, enabled: Sequence[str], lookup: Lookup) -> None:
        if mechanism not in enabled or mechanism not in (PLAIN, *SCRAM_MECHANISMS):
            raise UnsupportedMechanism(mechanism)
        self.mechanism = mechanism
        self.principal: str | None = None
        self._lookup = lookup
        self._scram: ScramServer | None = None
        if mechanism in SCRAM_MECHANISMS:
            self._scram = ScramServer(mechanism, lambda user: lookup(user, mechanism))

    @property
    def complete(self) -> bool:
        return self.principal is not None

    def step(self, token: bytes) -> bytes:
        """The reply to one client token; raises SaslFailed with Kafka's message."""
        if self.complete:
            raise SaslFailed(invalid_credentials(self.mechanism))
        if self._scram is None:
            return self._plain(token)
        try:
            if self._scram.username is None:
                return self._scram.first(token)
            reply = self._scram.final(token)
        except ScramAuthenticationFailed as exc:
            raise SaslFailed(str(exc)) from None
        self.principal = f"User:{self._scram.username}"
        return reply

    def _plain(self, token: bytes) -> bytes:
        # Kafka reads the first three NUL-separated fields (missing ones empty, extra ignored)
        # and answers a malformed token with its generic sentence, not the reason.
        fields = [*token.decode(errors="replace").split("\0", 3)[:3], "", ""]
        authzid, user, password = fields[:3]
        if not user or not password:
            raise SaslFailed(invalid_credentials(self.mechanism))
        if not self._password_matches(user, password):
            raise SaslFailed("Authentication failed: Invalid username or password")
        if authzid and authzid != user:
            raise SaslFailed(
                "Authentication failed: Client requested an authorization id that is "
                "different from username"
            )
        self.principal = f"User:{user}"
        return b""

    def _password_matches(self, user: str, password: str) -> bool:
        for mechanism in _PLAIN_VERIFIERS:
            credential = self._lookup(user, mechanism)
            if credential is not None:
                return verify_password(credential, password)
        return False
