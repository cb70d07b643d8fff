"""A SASL listener's connection while it authenticates or re-authenticates: which frames it
may send, the SaslHandshake / SaslAuthenticate answers that drive the exchange, and how long
the session it yields lasts.

Owns the rules Kafka applies: SaslHandshake picks an enabled mechanism
(UNSUPPORTED_SASL_MECHANISM with the enabled list otherwise), then SaslAuthenticate carries
tokens until the session yields a principal, or fails with SASL_AUTHENTICATION_FAILED and
Kafka's sentence; a v0 handshake switches to bare length-prefixed tokens. With a session
lifetime (connections.max.reauth.ms, KIP-368) a success answers it as session_lifetime_ms,
the session expires that long after, and a SaslHandshake on the authenticated connection
starts a re-authentication (at most one a second), which must keep the mechanism and
yield the same principal. It must never do I/O or wait: the connection sends the replies,
delays after failures, closes, and asks `session_expired` before serving a request.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from logstore.broker.build import make
from logstore.clock import Clock
from logstore.error_codes import (
    ILLEGAL_SASL_STATE,
    SASL_AUTHENTICATION_FAILED,
    UNSUPPORTED_SASL_MECHANISM,
)
from logstore.protocol import codec
from logstore.protocol.api_keys import ApiKey
from logstore.protocol.errors import ProtocolError
from logstore.security.sasl import Lookup, SaslFailed, SaslSession, UnsupportedMechanism

# What a connection may send before it authenticated (anything else closes it, as Kafka).
EXCHANGE_KEYS = frozenset({ApiKey.SASL_HANDSHAKE, ApiKey.SASL_AUTHENTICATE})
# Kafka refuses to start a re-authentication sooner than this after the previous one (the
# handshake is then answered as an ordinary request: ILLEGAL_SASL_STATE).
MIN_REAUTH_INTERVAL_MS = 1000


class NotAuthenticatedError(ProtocolError):
    """A request other than ApiVersions or the SASL exchange before authentication."""


@dataclass(frozen=True, slots=True)
class Step:
    """One answered frame: the reply frame (None = none), and whether to close after it."""

    reply: bytes | None
    close: bool = False


@dataclass(frozen=True, slots=True)
class _Previous:
    """The session a re-authentication must continue."""

    mechanism: str
    principal: str


class SaslGate:
    """The exchange state of one connection; `principal` is set once it authenticated and
    stays while it re-authenticates."""

    def __init__(
        self,
        enabled: Sequence[str],
        lookup: Lookup,
        clock: Clock,
        reauth_ms: Mapping[str, int] | None = None,
    ) -> None:
        self._enabled = tuple(enabled)
        self._lookup = lookup
        self._clock = clock
        # Session lifetime per mechanism; absent or <= 0 = unlimited, no re-authentication.
        self._reauth_ms = dict(reauth_ms or {})
        self._session: SaslSession | None = None
        self._raw = False  # after a v0 handshake: tokens without Kafka headers
        self._previous: _Previous | None = None  # set while re-authenticating
        self._bad_mechanism: str | None = None  # a re-authentication that switched mechanism
        self._expires_at: int | None = None  # monotonic ms; None = the session never expires
        self._reauth_started: int | None = None
        self.exchanging = True
        self.principal: str | None = None
        self.mechanism: str | None = None

    @property
    def raw_tokens(self) -> bool:
        """Whether the next frame is a bare token (v0 handshake), not a Kafka request."""
        return self._raw

    @property
    def reauthenticating(self) -> bool:
        return self._previous is not None

    @property
    def expires(self) -> bool:
        """Whether the current session has a lifetime (so requests must check it)."""
        return self._expires_at is not None

    def session_expired(self) -> bool:
        """Whether the authenticated session is past its lifetime (Kafka then closes the
        connection at its next request other than a re-authentication)."""
        return self._expires_at is not None and self._clock.monotonic_ms() > self._expires_at

    def begin_reauthentication(self) -> bool:
        """A SaslHandshake arrived on the authenticated connection: True if it starts a
        re-authentication (the handshake is then answered by `answer`), False if it is an
        ordinary request (no session lifetime, or one started less than a second ago)."""
        assert self.principal is not None
        assert self.mechanism is not None
        if self._expires_at is None:
            return False
        now = self._clock.monotonic_ms()
        if self._reauth_started is not None and now - self._reauth_started < (
            MIN_REAUTH_INTERVAL_MS
        ):
            return False
        self._reauth_started = now
        self._previous = _Previous(self.mechanism, self.principal)
        self._session = None
        self._raw = False
        self.exchanging = True
        return True

    def raw(self, token: bytes) -> Step:
        """Answer a bare token; a failure closes without a reply, as Kafka does."""
        assert self._session is not None
        if self._bad_mechanism is not None:
            return Step(None, close=True)
        try:
            reply = self._session.step(token)
            self._finish()
        except SaslFailed:
            return Step(None, close=True)
        return Step(struct.pack(">i", len(reply)) + reply)

    def answer(self, api_key: int, body: bytes) -> Step:
        """Answer a SaslHandshake or SaslAuthenticate frame body."""
        if api_key not in EXCHANGE_KEYS:
            during = "re-authentication" if self.reauthenticating else "authentication"
            raise NotAuthenticatedError(f"request key {api_key} during SASL {during}")
        header, request = codec.decode_request(body)
        version, correlation_id = header.api_version, header.correlation_id
        cls = codec.response_class(api_key, version)
        assert cls is not None
        if api_key == ApiKey.SASL_HANDSHAKE:
            return self._handshake(cls, version, correlation_id, request.mechanism)
        if self._bad_mechanism is not None:
            # Kafka fails such a re-authentication here, without an answer.
            return Step(None, close=True)
        if self._session is None:
            response = make(
                cls,
                error_code=ILLEGAL_SASL_STATE,
                error_message="Unexpected SaslAuthenticate request with no mechanism chosen",
                auth_bytes=b"",
                session_lifetime=0,
            )
            return Step(codec.encode_response(api_key, version, correlation_id, response), True)
        try:
            token = self._session.step(request.auth_bytes)
            lifetime = self._finish()
        except SaslFailed as exc:
            response = make(
                cls,
                error_code=SASL_AUTHENTICATION_FAILED,
                error_message=self._sentence(str(exc)),
                auth_bytes=b"",
                session_lifetime=0,
            )
            return Step(codec.encode_response(api_key, version, correlation_id, response), True)
        response = make(
            cls, error_code=0, error_message=None, auth_bytes=token, session_lifetime=lifetime
        )
        return Step(codec.encode_response(api_key, version, correlation_id, response))

    def _handshake(self, cls: type, version: int, correlation_id: int, mechanism: str) -> Step:
        error, close = 0, False
        if self._session is not None:
            error, close = ILLEGAL_SASL_STATE, True
        else:
            try:
                self._session = SaslSession(mechanism, self._enabled, self._lookup)
            except UnsupportedMechanism:
                error, close = UNSUPPORTED_SASL_MECHANISM, True
            else:
                previous = self._previous
                if previous is not None and previous.mechanism != mechanism:
                    # Kafka accepts the handshake, then fails the first token.
                    self._bad_mechanism = mechanism
        response = make(cls, error_code=error, mechanisms=self._enabled)
        self._raw = error == 0 and version == 0
        frame = codec.encode_response(ApiKey.SASL_HANDSHAKE, version, correlation_id, response)
        return Step(frame, close)

    def _finish(self) -> int:
        """After a step: if the session completed, the lifetime it gets in ms (0 =
        unlimited; raises SaslFailed when a re-authentication changed principal)."""
        session = self._session
        assert session is not None
        if not session.complete:
            return 0
        principal = session.principal
        assert principal is not None
        previous = self._previous
        if previous is not None and principal != previous.principal:
            raise SaslFailed(
                "Cannot change principals during re-authentication from "
                f"{_dotted(previous.principal)}: {_dotted(principal)}"
            )
        lifetime = max(self._reauth_ms.get(session.mechanism, 0), 0)
        self._expires_at = self._clock.monotonic_ms() + lifetime if lifetime else None
        self.principal, self.mechanism = principal, session.mechanism
        self._previous = None
        self._raw = False
        self.exchanging = False
        return lifetime

    def _sentence(self, message: str) -> str:
        # Kafka's generic failure sentence names which of the two exchanges failed.
        if self._previous is None:
            return message
        return message.replace("during authentication", "during re-authentication", 1)


def _dotted(principal: str) -> str:
    """`User:alice` as Kafka's re-authentication failure writes it: `User.alice`."""
    kind, _, name = principal.partition(":")
    return f"{kind}.{name}"
