"""The console shell: login required everywhere, the overview, health, the admin command."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

# Nothing listens on port 1: a cluster that is certainly unreachable.
DEAD = "127.0.0.1:1"


def test_pages_require_login(client: Client) -> None:
    response = client.get("/clusters/local/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/clusters/local/")


def test_root_redirects_to_local_overview(client: Client, admin_user: Any) -> None:
    client.force_login(admin_user)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/clusters/local/"


def test_login_page_renders_form(client: Client) -> None:
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b"csrfmiddlewaretoken" in response.content


def test_login_with_wrong_password_says_so(client: Client, admin_user: Any) -> None:
    response = client.post("/accounts/login/", {"username": "admin", "password": "nope"})
    assert response.status_code == 200
    assert b"did not match" in response.content


@override_settings(ODRADEK_LOCAL_BOOTSTRAP=DEAD, ODRADEK_CLUSTER_TIMEOUT=1)
def test_overview_shows_banner_when_cluster_unreachable(client: Client, admin_user: Any) -> None:
    client.force_login(admin_user)
    response = client.get("/clusters/local/")
    assert response.status_code == 200
    assert b"is unreachable" in response.content
    # Navigation is there with every section, and htmx gets the CSRF header.
    for label in (
        b"Overview",
        b"Topics",
        b"Consumer groups",
        b"Retention",
        b"Live tail",
        b"Teams",
        b"Audit",
    ):
        assert label in response.content
    assert b"hx-headers" in response.content
    assert b"htmx" in response.content


@override_settings(ODRADEK_LOCAL_BOOTSTRAP=DEAD, ODRADEK_CLUSTER_TIMEOUT=1)
def test_healthz_reports_unreachable_cluster_without_login(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["console"] == "ok"
    assert body["cluster"]["reachable"] is False
    assert body["cluster"]["error"]


def test_ensure_admin_creates_once_with_env_password(
    django_user_model: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("ODRADEK_ADMIN_PASSWORD", "s3cret-pass")
    call_command("ensure_admin")
    call_command("ensure_admin")
    admins = django_user_model.objects.filter(username="admin")
    assert admins.count() == 1
    assert admins.get().check_password("s3cret-pass")
    assert admins.get().is_superuser


def test_ensure_admin_generates_and_prints_password(django_user_model: Any, capsys: Any) -> None:
    os.environ.pop("ODRADEK_ADMIN_PASSWORD", None)
    call_command("ensure_admin")
    out = capsys.readouterr().out
    password = out.rsplit("admin / ", 1)[1].split()[0]
    assert django_user_model.objects.get(username="admin").check_password(password)
    call_command("ensure_admin")
    assert "admin /" not in capsys.readouterr().out
