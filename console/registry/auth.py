"""Who is calling the registry API, and which subjects they may change.

Owns HTTP basic authentication (console users, or a team's API key and secret) and the
write rule: admins change any subject, a team only `<topic>-key` / `<topic>-value` subjects
of the topics its prefix owns. It must never look at schemas or speak HTTP responses.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from console import permissions
from console.models import Team
from console.registry.models import ApiKey

SUBJECT_SUFFIXES = ("-key", "-value")


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: a console user or a team's API key."""

    name: str
    admin: bool
    teams: list[Team] = field(default_factory=list)


def caller(request: HttpRequest) -> Caller | None:
    """The caller named by the request's basic credentials, or None when they do not check."""
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, sep, password = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not sep:
        return None
    key = ApiKey.objects.filter(key=username).select_related("team").first()
    if key is not None:
        return (
            Caller(username, False, [key.team])
            if check_password(password, key.secret_hash)
            else None
        )
    try:
        user = authenticate(request, username=username, password=password)
    except PermissionDenied:
        user = None
    if user is None or not user.is_active:
        # A lockout (django-axes) gets the same answer as a wrong password, in JSON: the
        # lockout stays recorded, only axes' HTML page is skipped, which clients cannot read.
        request.axes_locked_out = False  # type: ignore[attr-defined]
        return None
    return Caller(username, permissions.is_admin(user), permissions.user_teams(user))


def of_user(user: Any) -> Caller:
    """A console session's user as a registry caller (the pages use the API's rule)."""
    return Caller(user.get_username(), permissions.is_admin(user), permissions.user_teams(user))


def topic_of(subject: str) -> str | None:
    """The topic a TopicNameStrategy subject belongs to, or None for other subjects."""
    for suffix in SUBJECT_SUFFIXES:
        if subject.endswith(suffix) and len(subject) > len(suffix):
            return subject[: -len(suffix)]
    return None


def may_write(who: Caller, subject: str) -> bool:
    if who.admin:
        return True
    topic = topic_of(subject)
    if topic is None:
        return False
    owner = permissions.team_for_topic(topic)
    return owner is not None and any(t.pk == owner.pk for t in who.teams)


def new_key(team: Team) -> tuple[ApiKey, str]:
    """A fresh key for `team` and its secret, which is shown once and stored only hashed."""
    secret = secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        team=team, key=f"sr-{secrets.token_hex(8)}", secret_hash=make_password(secret)
    )
    return key, secret
