"""Logging in: wrong passwords lock out one username from one address (django-axes),
password resets exist only with mail configured, and the production settings
(`ODRADEK_HTTPS=1`) pass `manage.py check --deploy` without a warning."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

ROOT = Path(__file__).resolve().parents[2]
LOGIN = "/accounts/login/"


def _login(client: Client, username: str, password: str, ip: str = "192.0.2.1") -> Any:
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.django_db
def test_five_wrong_passwords_lock_that_username_from_that_address(
    admin_user: Any, viewer_user: Any, settings: Any
) -> None:
    assert settings.AXES_FAILURE_LIMIT == 5
    attacker = Client()
    for _ in range(4):
        response = _login(attacker, "admin", "guess")
        assert response.status_code == 200
        assert "did not match" in response.content.decode()
    locked = _login(attacker, "admin", "guess")
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    # Locked out: even the right password does not get in from there.
    right = _login(attacker, "admin", "admin-pass-123")
    assert right.status_code == 429
    assert not _logged_in(attacker)
    # Another user from the same address, and the same user from elsewhere, are not.
    neighbour = Client()
    assert _login(neighbour, "viewer", "viewer-pass-123").status_code == 302
    assert _logged_in(neighbour)
    owner = Client()
    assert _login(owner, "admin", "admin-pass-123", ip="198.51.100.7").status_code == 302
    assert _logged_in(owner)


@pytest.mark.django_db
def test_lockout_ends_after_the_cool_off(admin_user: Any) -> None:
    client = Client()
    for _ in range(5):
        _login(client, "admin", "guess")
    assert _login(client, "admin", "admin-pass-123").status_code == 429
    # The cool-off is 15 minutes: move the recorded failures back instead of waiting.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert _login(client, "admin", "admin-pass-123").status_code == 302
    assert _logged_in(client)


@pytest.mark.django_db
def test_a_success_forgets_earlier_failures(admin_user: Any) -> None:
    client = Client()
    for _ in range(4):
        _login(client, "admin", "guess")
    assert _login(client, "admin", "admin-pass-123").status_code == 302
    client.logout()
    for _ in range(4):
        assert _login(client, "admin", "guess").status_code == 200


@pytest.mark.django_db
def test_no_password_reset_without_mail(client: Client, admin_user: Any) -> None:
    with pytest.raises(NoReverseMatch):
        reverse("password_reset")
    for url in ("/accounts/password_reset/", "/accounts/reset/MQ/set-password/"):
        assert client.get(url).status_code in (302, 404)  # login redirect or no such page
        client.force_login(admin_user)
        assert client.get(url).status_code == 404
        assert client.post(url, {"email": "a@example.com"}).status_code == 404
        client.logout()


def _manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ODRADEK_", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env={**clean, "ODRADEK_HOME": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_password_reset_appears_with_mail(tmp_path: Path) -> None:
    code = "from django.urls import reverse; print(reverse('password_reset'))"
    done = _manage(tmp_path, "shell", "-v", "0", "-c", code, ODRADEK_SMTP_HOST="mail.example.com")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "/accounts/password_reset/"


def test_check_deploy_is_clean_over_https(tmp_path: Path) -> None:
    done = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", ODRADEK_HTTPS="1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout
    plain = _manage(tmp_path, "check", "--deploy")
    assert "SESSION_COOKIE_SECURE" in plain.stdout + plain.stderr  # why ODRADEK_HTTPS exists


def test_https_settings_take_effect(tmp_path: Path) -> None:
    code = (
        "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_PROXY_SSL_HEADER)"
    )
    done = _manage(
        tmp_path, "shell", "-v", "0", "-c", code, ODRADEK_HTTPS="1", ODRADEK_BEHIND_TLS_PROXY="1"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "True",
        "True",
        "True",
        "31536000",
        "('HTTP_X_FORWARDED_PROTO',",
        "'https')",
    ]


@pytest.mark.django_db
def test_behind_a_proxy_the_forwarded_client_is_throttled(admin_user: Any, settings: Any) -> None:
    settings.AXES_CLIENT_IP_CALLABLE = "console.client_address.client_address"
    proxy = "10.0.0.5"

    def attempt(client: Client, forwarded: str, password: str) -> int:
        response = client.post(
            LOGIN,
            {"username": "admin", "password": password},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=forwarded,
        )
        return response.status_code

    attacker = Client()
    for _ in range(5):
        attempt(attacker, "203.0.113.9", "guess")
    assert attempt(attacker, "203.0.113.9", "admin-pass-123") == 429
    # A forged first entry does not make a new address: the proxy's last one counts.
    assert attempt(attacker, "1.2.3.4, 203.0.113.9", "admin-pass-123") == 429
    # The real admin behind the same proxy is not locked out by the attacker.
    assert attempt(Client(), "198.51.100.20", "admin-pass-123") == 302
