"""The websocket origin check: a socket is accepted only from the console's own origin.

Owns deciding, from the handshake alone, whether the page that opened a websocket came
from this console: the `Origin` header must equal the scheme, host and port the handshake
was sent to (the `Host` header, which must be in ALLOWED_HOSTS; `wss` or the proxy's
SECURE_PROXY_SSL_HEADER means https), or be listed exactly in CSRF_TRUSTED_ORIGINS —
the same origins Django's CSRF check accepts for a form post. A handshake without
`Origin` is refused: browsers always send one, and a script holding a session cookie can
send it too. It must never look at the session or the URL (that is the consumer's job).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_tuple(scheme: str, host: str, port: int | None) -> tuple[str, str, int] | None:
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    return scheme, host.lower().strip("[]"), port if port is not None else _DEFAULT_PORTS[scheme]


def _parse_origin(origin: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return None
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        return None
    return _origin_tuple(parts.scheme.lower(), parts.hostname or "", port)


def origin_allowed(
    origin: str | None,
    host: str | None,
    secure: bool,
    allowed_hosts: Iterable[str],
    trusted_origins: Iterable[str] = (),
) -> bool:
    """May a page from `origin` open a socket sent to `host` (over TLS when `secure`)?"""
    if not origin:
        return False
    theirs = _parse_origin(origin)
    if theirs is None:
        return False
    if any(theirs == _parse_origin(t) for t in trusted_origins):
        return True
    if not host:
        return False
    domain, port_text = split_domain_port(host)
    if not domain or not validate_host(domain, list(allowed_hosts)):
        return False
    if port_text and not port_text.isdigit():
        return False
    ours = _origin_tuple(
        "https" if secure else "http", domain, int(port_text) if port_text else None
    )
    return ours is not None and theirs == ours


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin1")
    return None


def _is_secure(scope: dict[str, Any]) -> bool:
    if scope.get("scheme") in ("wss", "https"):
        return True
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        # Django names it as a WSGI key ("HTTP_X_FORWARDED_PROTO"); ASGI has the raw header.
        name = proxy[0].removeprefix("HTTP_").replace("_", "-").lower().encode()
        return _header(scope, name) == proxy[1]
    return False


class SameOriginValidator:
    """ASGI middleware: pass the handshake on when `origin_allowed`, deny it otherwise."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        allowed = origin_allowed(
            _header(scope, b"origin"),
            _header(scope, b"host"),
            _is_secure(scope),
            settings.ALLOWED_HOSTS,
            settings.CSRF_TRUSTED_ORIGINS,
        )
        if allowed:
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
