"""Lag-alert webhooks cannot reach inside the console's network: refused when saved and
again when sent, allowed only by an admin's setting, never following a redirect, and the
URL shown only to the group's team and admins. Real HTTP servers on 127.0.0.1 receive (or
do not receive) the POSTs; the group pages run against both real clusters."""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client, override_settings

from console import webhooks
from console.clusters import ClusterConfig
from console.lag.models import LagAlert
from console.lag.sampler import sample_cluster
from console.models import AuditEntry, Team
from tests.clusters import (
    Cluster,
    cluster_or_three_nodes,  # noqa: F401 (this module's `cluster`)
)
from tests.console import groups_helpers as h

SECRET = "/hooks/T0/secret-token-123"


class Server:
    """A real HTTP server on 127.0.0.1: keeps each request; answers `status` (+ Location)."""

    def __init__(self, status: int = 204, location: str = "") -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                seen.append((self.path, dict(self.headers), body))
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}{SECRET}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/hook", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("http:///no-host", "needs a host"),
        ("http://user:pass@93.184.216.34/", "credentials"),
        ("http://127.0.0.1:8000/", "internal address"),
        ("http://localhost/", "internal address"),
        ("http://2130706433/", "internal address"),  # 127.0.0.1 spelt as a number
        ("http://10.1.2.3/", "internal address"),
        ("http://172.16.0.1/", "internal address"),
        ("http://192.168.1.1/", "internal address"),
        ("http://100.64.0.1/", "internal address"),  # carrier-grade NAT
        ("http://169.254.169.254/latest/meta-data/", "internal address"),  # cloud metadata
        ("http://0.0.0.0/", "internal address"),
        ("http://240.0.0.1/", "internal address"),  # reserved
        ("http://224.0.0.1/", "multicast"),
        ("http://[::1]/", "internal address"),
        ("http://[::ffff:127.0.0.1]/", "internal address"),
        ("http://[fe80::1]/", "internal address"),
        ("http://[2002:7f00:1::]/", "internal address"),  # 6to4 wrapping 127.0.0.1
        ("http://[64:ff9b::a00:1]/", "internal address"),  # NAT64 wrapping 10.0.0.1
        ("http://[fd00::1]/", "internal address"),
        ("https://[ff02::1]/", "multicast"),
        ("http://no-such-host.invalid/", "does not resolve"),
        ("http://127.0.0.1:99999/", "not a valid URL"),
    ],
)
def test_refused_targets(url: str, why: str) -> None:
    with pytest.raises(webhooks.WebhookRefused, match=why):
        webhooks.check(url)


def test_public_addresses_pass() -> None:
    assert webhooks.check("https://93.184.216.34/hook?x=1").path == "/hook?x=1"
    assert webhooks.address_refusal(ipaddress.ip_address("2606:4700::1111")) == ""


def test_admin_settings_allow_internal_targets() -> None:
    with override_settings(ODRADEK_WEBHOOK_ALLOW_NETWORKS=["127.0.0.0/8"]):
        webhooks.check("http://127.0.0.1:8000/")
        with pytest.raises(webhooks.WebhookRefused):
            webhooks.check("http://10.1.2.3/")
    with override_settings(ODRADEK_WEBHOOK_ALLOW_PRIVATE=True):
        webhooks.check("http://10.1.2.3/")


def test_send_time_check_refuses_and_sends_nothing(server: Server) -> None:
    error = webhooks.post_json(server.url, b"{}", timeout=2)
    assert error.startswith("refused: ")
    assert "internal address" in error
    assert server.requests == []


@override_settings(ODRADEK_WEBHOOK_ALLOW_PRIVATE=True)
def test_allowed_post_reaches_the_checked_address(server: Server) -> None:
    # A host name: resolved and checked once, then connected to by that address.
    url = f"http://localhost:{server.port}{SECRET}?q=1"
    assert webhooks.post_json(url, b'{"a": 1}', timeout=2) == ""
    [(path, headers, body)] = server.requests
    assert (path, body) == (f"{SECRET}?q=1", b'{"a": 1}')
    assert headers["Host"] == f"localhost:{server.port}"
    assert headers["Content-Type"] == "application/json"


@override_settings(ODRADEK_WEBHOOK_ALLOW_NETWORKS=["127.0.0.1/32"])
def test_dns_rebinding_after_the_check_changes_nothing(server: Server, monkeypatch: Any) -> None:
    """The name answers 127.0.0.1 (allowed here) when checked, 10.9.9.9 ever after: the
    POST still goes to the address that was checked, never to a second lookup's answer."""
    import socket

    real = socket.getaddrinfo
    answers = iter(["127.0.0.1"])

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.rebind.test":
            host = next(answers, "10.9.9.9")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    assert webhooks.post_json(f"http://hooks.rebind.test:{server.port}/x", b"{}", 2) == ""
    assert len(server.requests) == 1
    assert server.requests[0][1]["Host"] == f"hooks.rebind.test:{server.port}"
    # The next send looks the name up again, gets the internal answer, and is refused.
    assert "10.9.9.9" in webhooks.post_json(f"http://hooks.rebind.test:{server.port}/x", b"{}", 2)
    assert len(server.requests) == 1


@override_settings(ODRADEK_WEBHOOK_ALLOW_PRIVATE=True)
def test_redirects_are_not_followed(server: Server) -> None:
    redirector = Server(status=302, location=server.url)
    try:
        error = webhooks.post_json(redirector.url, b"{}", timeout=2)
    finally:
        redirector.close()
    assert error == f"HTTP 302 redirect to {server.url} not followed"
    assert len(redirector.requests) == 1
    assert server.requests == []


def test_silent_server_times_out_quickly() -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection, never answers
    try:
        with override_settings(ODRADEK_WEBHOOK_ALLOW_PRIVATE=True):
            started = time.monotonic()
            error = webhooks.post_json(f"http://127.0.0.1:{listener.getsockname()[1]}/", b"{}", 0.5)
        assert "timed out" in error
        assert time.monotonic() - started < 5
    finally:
        listener.close()


# --- through the console: the form, the sampler, who sees the URL ---------------------


@pytest.fixture
def on_cluster(cluster: Cluster) -> Iterator[Cluster]:
    with override_settings(ODRADEK_LOCAL_BOOTSTRAP=cluster.bootstrap, ODRADEK_CLUSTER_TIMEOUT=10):
        yield cluster


def _team(django_user_model: Any, name: str, prefix: str) -> Any:
    team = Team.objects.create(
        name=name, group=Group.objects.create(name=f"team:{name}"), topic_prefix=prefix
    )
    user = django_user_model.objects.create_user(name, "", f"{name}-pass-123")
    user.groups.add(team.group)
    return user


@pytest.mark.django_db
def test_form_refuses_internal_webhooks(client: Client, admin_user: Any, server: Server) -> None:
    client.force_login(admin_user)
    url = "/clusters/local/groups/g/alert/"
    for hook in (server.url, "http://169.254.169.254/", "gopher://x/"):
        page = client.post(url, {"max_lag_messages": "5", "webhook_url": hook}, follow=True)
        assert "Lag alert not saved" in page.content.decode(), hook
    assert not LagAlert.objects.exists()
    with override_settings(ODRADEK_WEBHOOK_ALLOW_PRIVATE=True):
        client.post(url, {"max_lag_messages": "5", "webhook_url": server.url})
    assert LagAlert.objects.get(group="g").webhook_url == server.url


@pytest.mark.django_db
def test_sampler_checks_again_at_send_time(cluster: Cluster, server: Server) -> None:
    topic = h.make_topic(cluster.bootstrap, partitions=1)
    h.produce(cluster.bootstrap, topic, 0, [int(time.time() * 1000)] * 10)
    group = h.unique("grp-hook")
    h.consume_to(cluster.bootstrap, group, topic, {0: 2})
    # Saved while allowed (or while its name pointed elsewhere); not allowed any more.
    LagAlert.objects.create(cluster="test", group=group, max_lag_messages=5, webhook_url=server.url)
    cfg = ClusterConfig(slug="test", name=cluster.name, bootstrap=cluster.bootstrap)
    sample_cluster(cfg, datetime.now(UTC), webhook_timeout=2)
    alert = LagAlert.objects.get(group=group)
    assert alert.firing
    assert alert.last_webhook_error.startswith("refused: ")
    assert server.requests == []
    with override_settings(ODRADEK_WEBHOOK_ALLOW_PRIVATE=True):
        h.consume_to(cluster.bootstrap, group, topic, {0: 10})
        sample_cluster(cfg, datetime.now(UTC), webhook_timeout=2)
    assert [json.loads(b)["event"] for _, _, b in server.requests] == ["lag_alert.cleared"]


@pytest.mark.django_db
def test_only_the_team_and_admins_see_the_url(
    client: Client, admin_user: Any, django_user_model: Any, on_cluster: Cluster, server: Server
) -> None:
    prefix = h.unique("hookteam") + "."
    owner = _team(django_user_model, "owners", prefix)
    stranger = _team(django_user_model, "strangers", h.unique("other") + ".")
    topic = prefix + "events"
    from tests.console.topics_helpers import commit, make_topic

    make_topic(on_cluster.bootstrap, topic)
    group = h.unique("grp-seen")
    commit(on_cluster.bootstrap, group, topic, {0: 0})
    client.force_login(owner)
    with override_settings(ODRADEK_WEBHOOK_ALLOW_PRIVATE=True):
        saved = client.post(
            f"/clusters/local/groups/{group}/alert/",
            {"max_lag_messages": "5", "webhook_url": server.url},
        )
    assert saved.status_code == 302
    LagAlert.objects.filter(group=group).update(last_webhook_error=f"failed at {server.url}")
    page = f"/clusters/local/groups/{group}/"
    for user, sees in [(owner, True), (admin_user, True), (stranger, False)]:
        client.force_login(user)
        body = client.get(page).content.decode()
        assert (SECRET in body) is sees, user
    client.force_login(stranger)
    assert client.post(f"{page}alert/", {"delete": "1"}).status_code == 403
    audit = client.get("/audit/").content.decode()
    assert "lag_alert.configure" in audit
    assert SECRET not in audit
    assert AuditEntry.objects.get(action="lag_alert.configure").after["webhook_url"] == (
        "http://127.0.0.1/…"
    )
