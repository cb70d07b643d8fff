"""Outgoing webhooks: which addresses the console may POST to, and the POST itself.

Owns the target rule and the one request. A webhook is typed by a team member but sent
by the console's own process, from inside the network, so only http(s) URLs whose host
resolves to public addresses are accepted: loopback, private, link-local, shared,
reserved, multicast and unspecified addresses are refused unless an admin allows them
(settings `ODRADEK_WEBHOOK_ALLOW_PRIVATE`, or networks in `ODRADEK_WEBHOOK_ALLOW_NETWORKS`).
The host is resolved and every address checked when the URL is saved and again at each
send, and the request goes to the address that was checked (a name that resolves
elsewhere a second later — DNS rebinding — changes nothing). Redirects are never
followed, and every call has a short timeout. It must never raise on a failed send: the
caller keeps the returned error text for the page.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

TIMEOUT = 3.0
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class WebhookRefused(ValueError):
    """The URL may not be used as a webhook; the message says why, for people."""


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line


def parse(url: str) -> Target:
    """The parts of an http(s) URL, or WebhookRefused."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise WebhookRefused(f"The webhook is not a valid URL: {exc}.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise WebhookRefused("The webhook must be an http:// or https:// address.")
    if not parts.hostname:
        raise WebhookRefused("The webhook URL needs a host name.")
    if parts.username or parts.password:
        raise WebhookRefused(
            "Put credentials for the webhook in its path or query, not user:pass@."
        )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(url, scheme, parts.hostname, port or (443 if scheme == "https" else 80), path)


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        ipaddress.ip_network(n.strip(), strict=False)
        for n in getattr(settings, "ODRADEK_WEBHOOK_ALLOW_NETWORKS", [])
    ]


def address_refusal(address: Address) -> str:
    """Why the console may not send to `address`; empty when it may."""
    if getattr(settings, "ODRADEK_WEBHOOK_ALLOW_PRIVATE", False):
        return ""
    if any(address in net for net in _allowed_networks()):
        return ""
    for checked in (address, *_embedded_ipv4(address)):
        if checked.is_multicast:
            return f"{address} is a multicast address"
        if not checked.is_global or checked.is_reserved or checked.is_unspecified:
            return f"{address} is an internal address (loopback, private, link-local or reserved)"
    return ""


def _embedded_ipv4(address: Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64) and reaches."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [address.ipv4_mapped, address.sixtofour, address.teredo[1] if address.teredo else None]
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [a for a in found if a is not None]


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def resolve(target: Target) -> list[Address]:
    """Every address of the target's host, each one allowed, or WebhookRefused."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise WebhookRefused(f"The webhook host {target.host} does not resolve: {exc}.") from None
    addresses: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise WebhookRefused(f"The webhook host {target.host} has no address.")
    for address in addresses:
        reason = address_refusal(address)
        if reason:
            raise WebhookRefused(
                f"The webhook may not point inside the console's network: {target.host} -> "
                f"{reason}. An admin can allow it (ODRADEK_WEBHOOK_ALLOW_PRIVATE)."
            )
    return addresses


def check(url: str) -> Target:
    """For the form: the URL is well-formed and its host resolves to allowed addresses."""
    target = parse(url)
    resolve(target)
    return target


def shown(url: str) -> str:
    """What people without the right to see a webhook may see of it: scheme and host."""
    try:
        target = parse(url)
    except WebhookRefused:
        return "set"
    return f"{target.scheme}://{target.host}/…"


def _connection(target: Target, address: Address, timeout: float) -> http.client.HTTPConnection:
    conn: http.client.HTTPConnection
    if target.scheme == "https":
        # TLS still checks the certificate against the host name, not the address.
        conn = http.client.HTTPSConnection(target.host, target.port, timeout=timeout)
    else:
        conn = http.client.HTTPConnection(target.host, target.port, timeout=timeout)

    def connect_checked(_address: Any, timeout: Any = None, source: Any = None) -> socket.socket:
        return socket.create_connection((str(address), target.port), timeout, source)

    conn._create_connection = connect_checked  # type: ignore[attr-defined]
    return conn


def post_json(url: str, body: bytes, timeout: float = TIMEOUT) -> str:
    """POST `body` as JSON; the error text, or empty on a 2xx answer."""
    try:
        target = parse(url)
        address = resolve(target)[0]
    except WebhookRefused as exc:
        return f"refused: {exc}"
    conn = _connection(target, address, timeout)
    headers = {"Content-Type": "application/json", "User-Agent": "odradek-console"}
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(64 * 1024)
    except (OSError, http.client.HTTPException) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()
    if 300 <= response.status < 400:
        where = response.getheader("Location", "?")
        return f"HTTP {response.status} redirect to {where} not followed"
    if not 200 <= response.status < 300:
        return f"HTTP {response.status} {response.reason}"
    return ""
