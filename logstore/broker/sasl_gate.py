"""A SASL listener's connection before it authenticated: which frames it may send, and the
SaslHandshake / SaslAuthenticate answers that drive the exchange.

Owns the pre-authentication rules Kafka applies: SaslHandshake picks an enabled mechanism
(UNSUPPORTED_SASL_MECHANISM with the enabled list otherwise), then SaslAuthenticate carries
tokens until the session yields a principal, or fails with SASL_AUTHENTICATION_FAILED and
Kafka's sentence; a v0 handshake switches to bare length-prefixed tokens. It must never do
I/O or wait: the connection sends the replies, delays after failures and closes.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from logstore.broker.build import make
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


class NotAuthenticatedError(ProtocolError):
    """A request other than ApiVersions or the SASL exchange before authentication."""


@dataclass(frozen=True, slots=True)
class Step:
    """One answered frame: the reply frame (None = none), and whether to close after it."""

    reply: bytes | None
    close: bool = False


class SaslGate:
    """The exchange state of one connection; `principal` is set once it authenticated."""

    def __init__(self, enabled: Sequence[str], lookup: Lookup) -> None:
        self._enabled = tuple(enabled)
        self._lookup = lookup
        self._session: SaslSession | None = None
        self._raw = False  # after a v0 handshake: tokens without Kafka headers
        self.principal: str | None = None

    @property
    def raw_tokens(self) -> bool:
        """Whether the next frame is a bare token (v0 handshake), not a Kafka request."""
        return self._raw

    def raw(self, token: bytes) -> Step:
        """Answer a bare token; a failure closes without a reply, as Kafka does."""
        assert self._session is not None
        try:
            reply = self._session.step(token)
        except SaslFailed:
            return Step(None, close=True)
        self._finish()
        return Step(struct.pack(">i", len(reply)) + reply)

    def answer(self, api_key: int, body: bytes) -> Step:
        """Answer a SaslHandshake or SaslAuthenticate frame body."""
        if api_key not in EXCHANGE_KEYS:
            raise NotAuthenticatedError(
                f"request key {api_key} before SASL authentication completed"
            )
        header, request = codec.decode_request(body)
        version, correlation_id = header.api_version, header.correlation_id
        cls = codec.response_class(api_key, version)
        assert cls is not None
        if api_key == ApiKey.SASL_HANDSHAKE:
            return self._handshake(cls, version, correlation_id, request.mechanism)
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
        except SaslFailed as exc:
            response = make(
                cls,
                error_code=SASL_AUTHENTICATION_FAILED,
                error_message=str(exc),
                auth_bytes=b"",
                session_lifetime=0,
            )
            return Step(codec.encode_response(api_key, version, correlation_id, response), True)
        self._finish()
        response = make(cls, error_code=0, error_message=None, auth_bytes=token, session_lifetime=0)
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
        response = make(cls, error_code=error, mechanisms=self._enabled)
        self._raw = error == 0 and version == 0
        frame = codec.encode_response(ApiKey.SASL_HANDSHAKE, version, correlation_id, response)
        return Step(frame, close)

    def _finish(self) -> None:
        assert self._session is not None
        if self._session.complete:
            self.principal = self._session.principal
            self._raw = False
