"""`/metrics`: the console's Prometheus endpoint, outside the login but never open.

Owns who may scrape: with `ODRADEK_METRICS_TOKEN` set, only a request carrying
`Authorization: Bearer <token>` (compared in constant time; 401 otherwise); without it,
only a loopback client (403 otherwise), the client being the one the login throttle sees
behind a TLS proxy, and not a loopback request a proxy forwarded (it carries
X-Forwarded-For, Forwarded or X-Real-IP) unless the console is told of the proxy. It must
never answer a scrape with a session cookie's authority, nor trust X-Forwarded-For unless
the console is configured to sit behind a proxy.
"""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from console.client_address import client_address
from console.metrics import ConsoleCollector


def _bearer_ok(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


# Headers a reverse proxy adds: from a loopback address they mean the request came
# through a proxy on this host from anywhere, so loopback alone vouches for nothing.
_PROXIED = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def _is_loopback(request: HttpRequest) -> bool:
    if settings.ODRADEK_BEHIND_TLS_PROXY:
        address = client_address(request)
    elif any(h in request.META for h in _PROXIED):
        return False
    else:
        address = request.META.get("REMOTE_ADDR")
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


@login_not_required
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Every managed cluster's lag and topics in the Prometheus text format."""
    token = settings.ODRADEK_METRICS_TOKEN
    if token:
        if not _bearer_ok(request, token):
            refused = HttpResponse("A valid bearer token is required.\n", status=401)
            refused["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return refused
    elif not _is_loopback(request):
        return HttpResponse("Set ODRADEK_METRICS_TOKEN to scrape from another host.\n", status=403)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ConsoleCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
