"""The websocket origin check (`console.ws_origin`): the page opening the live tail must
come from the scheme, host and port the handshake went to. Pure rules first, then the
real ASGI stack (`console.asgi.application`) through Channels' `WebsocketCommunicator`.
"""

from __future__ import annotations

from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client, override_settings

from console.ws_origin import origin_allowed
from tests.console.test_tail_ws import own_loop

HOSTS = ["127.0.0.1", "localhost", "console.example.com"]


@pytest.mark.parametrize(
    ("origin", "host", "secure", "allowed"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", False, True),
        ("http://127.0.0.1", "127.0.0.1", False, True),
        ("http://127.0.0.1:80", "127.0.0.1", False, True),  # the default port, spelt out
        ("https://console.example.com", "console.example.com", True, True),
        ("http://127.0.0.1:8001", "127.0.0.1:8000", False, False),  # same host, other port
        ("http://127.0.0.1", "127.0.0.1:8000", False, False),
        ("https://127.0.0.1:8000", "127.0.0.1:8000", False, False),  # other scheme
        ("http://console.example.com", "console.example.com", True, False),  # TLS downgrade
        ("http://localhost:8000", "127.0.0.1:8000", False, False),  # other host
        ("http://evil.example:8000", "evil.example:8000", False, False),  # host not allowed
        (None, "127.0.0.1:8000", False, False),  # no Origin: refused
        ("null", "127.0.0.1:8000", False, False),  # sandboxed frames, file:// pages
        ("http://127.0.0.1:8000/path", "127.0.0.1:8000", False, False),
        ("http://127.0.0.1:99999", "127.0.0.1:8000", False, False),
        ("ftp://127.0.0.1:8000", "127.0.0.1:8000", False, False),
        ("http://127.0.0.1:8000", None, False, False),
    ],
)
def test_origin_rules(origin: str | None, host: str | None, secure: bool, allowed: bool) -> None:
    assert origin_allowed(origin, host, secure, HOSTS) is allowed


def test_trusted_origins_match_exactly() -> None:
    trusted = ["https://console.example.com"]
    proxied = "127.0.0.1:8000"  # a proxy that does not pass the Host header on
    assert origin_allowed("https://console.example.com", proxied, False, HOSTS, trusted)
    assert origin_allowed("https://console.example.com:443", proxied, False, HOSTS, trusted)
    assert not origin_allowed("https://console.example.com:8443", proxied, False, HOSTS, trusted)
    assert not origin_allowed("http://console.example.com", proxied, False, HOSTS, trusted)


UNAUTHENTICATED = 4401  # the consumer's own refusal: the origin check let it through
NOT_FOUND = 4404


def _comm(
    headers: list[tuple[bytes, bytes]], path: str = "/ws/clusters/nosuch/topics/t/tail/"
) -> Any:
    from console.asgi import application

    return WebsocketCommunicator(application, path, headers=headers)


async def _close_code(headers: list[tuple[bytes, bytes]]) -> int:
    comm = _comm(headers)
    connected, code = await comm.connect(timeout=10)
    assert not connected
    return int(code)


@pytest.fixture
def cookie(admin_user: Any) -> bytes:
    client = Client()
    client.force_login(admin_user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


@pytest.mark.django_db(transaction=True)
@own_loop
async def test_handshakes_through_the_asgi_stack(cookie: bytes) -> None:
    host = (b"host", b"127.0.0.1:8000")
    session = (b"cookie", cookie)
    # The right origin reaches the consumer, which then judges the session and the URL.
    assert await _close_code([host, (b"origin", b"http://127.0.0.1:8000"), session]) == NOT_FOUND
    assert await _close_code([host, (b"origin", b"http://127.0.0.1:8000")]) == UNAUTHENTICATED
    # Everything else is denied before the session is even looked at.
    for origin in [b"http://127.0.0.1:8001", b"https://127.0.0.1:8000", b"http://localhost:8000"]:
        code = await _close_code([host, (b"origin", origin), session])
        assert code not in (NOT_FOUND, UNAUTHENTICATED), origin
    assert await _close_code([host, session]) not in (NOT_FOUND, UNAUTHENTICATED)


@pytest.mark.django_db(transaction=True)
@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
@own_loop
async def test_tls_terminating_proxy_means_https(cookie: bytes) -> None:
    host = (b"host", b"localhost")
    session = (b"cookie", cookie)
    https = (b"origin", b"https://localhost")
    proto = (b"x-forwarded-proto", b"https")
    assert await _close_code([host, https, session, proto]) == NOT_FOUND
    assert await _close_code([host, https, session]) not in (NOT_FOUND, UNAUTHENTICATED)
