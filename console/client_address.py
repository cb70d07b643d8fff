"""The address a request came from, for login throttling behind a TLS proxy.

Owns one rule: with `ODRADEK_BEHIND_TLS_PROXY=1` the client is the last address the
proxy appended to X-Forwarded-For (anything before it was sent by the client and can be
forged); otherwise it is the socket's peer. It must never trust the header without that
setting, or every failed login could claim a fresh address.
"""

from __future__ import annotations

from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    last = forwarded.split(",")[-1].strip()
    return last or request.META.get("REMOTE_ADDR")
