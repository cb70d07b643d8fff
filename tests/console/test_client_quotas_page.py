"""The Client quotas page of a cluster, on the bundled broker and on Apache Kafka.

Every change made through the page is checked with the cluster's own answer (the gateway's
DescribeClientQuotas) and in the audit trail; Kafka's refusal of a value comes back as a
form error in Kafka's words; administrators alone see or change quotas. Quotas on named
entities carry a per-test tag and are removed afterwards (the session's brokers are
shared); quotas on a default entity, which would throttle every other test's clients, are
set only on a broker of the test's own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from console import client_quota_terms as terms
from console.clusters import get_cluster
from console.kafka import client_quotas
from console.kafka.client_quotas import CLIENT_ID, IP, USER, Entity
from console.kafka.config import bare
from console.kafka.errors import NotAuthorized, Refused
from console.models import AuditEntry
from tests.broker_fixture import BrokerProcess
from tests.console.secure_clusters import LIMITED_SLUG, SecureCluster
from tests.console.topics_helpers import console_on

pytestmark = pytest.mark.django_db

BASE = "/clusters/local/quotas/"
MIB = 1048576.0


def _quotas(bootstrap: str) -> dict[Entity, dict[str, float]]:
    """What the cluster holds, asked by the gateway on a connection of the test's own."""
    return {
        e.entity: dict(e.values)
        for e in client_quotas.describe(bare(bootstrap, timeout_s=10, slug="quota-check"))
    }


def _clear(bootstrap: str, tag: str) -> None:
    """Remove every quota of an entity named with `tag` (an ip's colons aside)."""
    cluster = bare(bootstrap, timeout_s=10, slug="quota-check")
    for e in client_quotas.describe(cluster):
        if any(name and tag in name.replace(":", "") for _, name in e.entity):
            client_quotas.alter(cluster, e.entity, dict.fromkeys(e.values))


@pytest.fixture
def on_shared(shared_broker: BrokerProcess) -> Iterator[tuple[str, str]]:
    """The console's `local` cluster is the session's broker; (bootstrap, tag), with every
    quota of an entity named with the tag removed afterwards."""
    tag = uuid.uuid4().hex[:8]
    with console_on(shared_broker.bootstrap):
        try:
            yield shared_broker.bootstrap, tag
        finally:
            _clear(shared_broker.bootstrap, tag)


def _setter(client: Client) -> Callable[..., Any]:
    def set_quota(kind: str, key: str, value: str, **names: str) -> Any:
        return client.post(BASE + "set/", {"kind": kind, "key": key, "value": value, **names})

    return set_quota


def test_admin_lists_sets_and_removes_quotas(
    client: Client, admin_user: Any, on_shared: tuple[str, str]
) -> None:
    bootstrap, tag = on_shared
    client.force_login(admin_user)
    user, app, ip = f"alice-{tag}", f"app-{tag}", f"2001:db8::{tag[:4]}:{tag[4:]}"
    set_quota = _setter(client)

    page = client.get(BASE)
    assert page.status_code == 200
    assert b"Client quotas" in page.content
    assert b"bytes a producer may send per second" in page.content  # Kafka's terms explained

    made = [
        set_quota("user", "producer_byte_rate", "1048576", user=user),
        set_quota("client-id", "consumer_byte_rate", "2621440", client_id=app),
        set_quota("user+client-id", "request_percentage", "50", user=user, client_id=app),
        set_quota("user+client-id", "controller_mutation_rate", "2.5", user=user, client_id=app),
        set_quota("ip", "connection_creation_rate", "20", ip=ip),
    ]
    assert [r.status_code for r in made] == [302] * 5, [r.content[-2000:] for r in made]
    held = _quotas(bootstrap)
    assert held[((USER, user),)] == {"producer_byte_rate": MIB}
    assert held[((CLIENT_ID, app),)] == {"consumer_byte_rate": 2621440.0}
    assert held[((USER, user), (CLIENT_ID, app))] == {
        "request_percentage": 50.0,
        "controller_mutation_rate": 2.5,
    }
    assert held[((IP, ip),)] == {"connection_creation_rate": 20.0}

    listed = client.get(BASE)
    rows = {r.label: dict(r.items) for r in listed.context["rows"]}
    assert rows[f"user {user}"] == {"producer_byte_rate": "1,048,576 bytes/s (1 MiB/s)"}
    assert rows[f"client id {app}"] == {"consumer_byte_rate": "2,621,440 bytes/s (2.5 MiB/s)"}
    assert rows[f"user {user} + client id {app}"] == {
        "request_percentage": "50%",
        "controller_mutation_rate": "2.5 partition mutations/s",
    }
    assert rows[f"ip {ip}"] == {"connection_creation_rate": "20 connections/s"}
    assert b"1,048,576 bytes/s (1 MiB/s)" in listed.content

    # Setting a key again replaces its value; the audit keeps the one before.
    again = set_quota("user", "producer_byte_rate", "2048", user=user)
    assert again.status_code == 302
    assert _quotas(bootstrap)[((USER, user),)] == {"producer_byte_rate": 2048.0}
    assert "2,048 bytes/s (2 KiB/s)" in client.get(BASE).content.decode()

    # A plain remove is redirected; an htmx one gets the table back with what happened.
    gone = client.post(
        BASE + "remove/", {"kind": "user", "user": user, "key": "producer_byte_rate"}
    )
    assert gone.status_code == 302
    swapped = client.post(
        BASE + "remove/",
        {"kind": "user+client-id", "user": user, "client_id": app, "key": "request_percentage"},
        HTTP_HX_REQUEST="true",
    )
    assert swapped.status_code == 200
    assert swapped.content.lstrip().startswith(b'<div id="quota-table">')
    assert b"Removed request_percentage of user" in swapped.content
    held = _quotas(bootstrap)
    assert ((USER, user),) not in held
    assert held[((USER, user), (CLIENT_ID, app))] == {"controller_mutation_rate": 2.5}
    nothing = client.post(
        BASE + "remove/", {"kind": "user", "user": user, "key": "producer_byte_rate"},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    assert b"Nothing to remove" in nothing.content
    for fields in (
        {"kind": "client-id", "client_id": app, "key": "consumer_byte_rate"},
        {"kind": "user+client-id", "user": user, "client_id": app,
         "key": "controller_mutation_rate"},
        {"kind": "ip", "ip": ip, "key": "connection_creation_rate"},
    ):  # fmt: skip
        assert client.post(BASE + "remove/", fields).status_code == 302
    assert not [e for e in _quotas(bootstrap) if any(tag in (n or "") for _, n in e)]

    entries = list(AuditEntry.objects.filter(action__startswith="quota.").order_by("id"))
    assert [(e.action, e.target) for e in entries] == [
        ("quota.set", f"user {user}"),
        ("quota.set", f"client id {app}"),
        ("quota.set", f"user {user} + client id {app}"),
        ("quota.set", f"user {user} + client id {app}"),
        ("quota.set", f"ip {ip}"),
        ("quota.set", f"user {user}"),
        ("quota.remove", f"user {user}"),
        ("quota.remove", f"user {user} + client id {app}"),
        ("quota.remove", f"client id {app}"),
        ("quota.remove", f"user {user} + client id {app}"),
        ("quota.remove", f"ip {ip}"),
    ]
    assert entries[0].before == {"producer_byte_rate": None}
    assert entries[0].after == {"producer_byte_rate": MIB}
    assert entries[5].before == {"producer_byte_rate": MIB}
    assert entries[6].before == {"producer_byte_rate": 2048.0}
    assert entries[6].after is None
    assert entries[2].detail == f"user={user}, client-id={app}"
    assert all(e.username == "admin" and e.cluster == "local" for e in entries)


class _RemoveForms(HTMLParser):
    """The hidden inputs of every remove form on a page, as a browser would send them."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, str]] = []
        self._open: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form" and (found.get("action") or "").endswith("/quotas/remove/"):
            self._open = {}
        elif tag == "input" and self._open is not None and found.get("name"):
            self._open[found["name"] or ""] = found.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._open is not None:
            self.forms.append(self._open)
            self._open = None


def test_any_name_kafka_allows_round_trips_through_the_page(
    client: Client, admin_user: Any, on_shared: tuple[str, str]
) -> None:
    """Names travel in form fields, not URLs; the remove buttons send back exactly the
    names the cluster listed (spaces kept, though the set form strips what is typed)."""
    bootstrap, tag = on_shared
    client.force_login(admin_user)
    odd = [f'weird/"q" é <x>&{tag}', f" spaced {tag} "]
    for name in odd:
        entity = ((USER, name), (CLIENT_ID, f"c&{tag}"))
        client_quotas.alter(bare(bootstrap, timeout_s=10), entity, {"producer_byte_rate": MIB})
    page = client.get(BASE)
    assert "weird/&quot;q&quot; é &lt;x&gt;&amp;" in page.content.decode()
    parser = _RemoveForms()
    parser.feed(page.content.decode())
    mine = [f for f in parser.forms if tag in f.get("user", "")]
    assert sorted(f["user"] for f in mine) == sorted(odd)
    for fields in mine:
        fields.pop("csrfmiddlewaretoken", None)
        assert client.post(BASE + "remove/", fields).status_code == 302
    assert not [e for e in _quotas(bootstrap) if any(tag in (n or "") for _, n in e)]
    removed = AuditEntry.objects.filter(action="quota.remove").values_list("target", flat=True)
    assert sorted(removed) == sorted(f"user {n} + client id c&{tag}" for n in odd)


def test_default_entities_on_a_broker_of_its_own(
    client: Client, admin_user: Any, broker: BrokerProcess
) -> None:
    """Defaults would throttle every client without a quota of its own: never on a shared
    broker."""
    client.force_login(admin_user)
    set_quota = _setter(client)
    with console_on(broker.bootstrap):
        made = [
            set_quota("user", "producer_byte_rate", "10485760", user_default="on"),
            set_quota("client-id", "consumer_byte_rate", "1024", client_id_default="on"),
            set_quota("user+client-id", "producer_byte_rate", "5242880", user="bob",
                      client_id_default="on"),
            set_quota("user+client-id", "consumer_byte_rate", "4096", user_default="on",
                      client_id_default="on"),
            set_quota("ip", "connection_creation_rate", "100", ip_default="on"),
        ]  # fmt: skip
        assert [r.status_code for r in made] == [302] * 5
        assert _quotas(broker.bootstrap) == {
            ((USER, None),): {"producer_byte_rate": 10485760.0},
            ((CLIENT_ID, None),): {"consumer_byte_rate": 1024.0},
            ((USER, "bob"), (CLIENT_ID, None)): {"producer_byte_rate": 5242880.0},
            ((USER, None), (CLIENT_ID, None)): {"consumer_byte_rate": 4096.0},
            ((IP, None),): {"connection_creation_rate": 100.0},
        }
        page = client.get(BASE)
        labels = [r.label for r in page.context["rows"]]
        assert labels == [
            "(default user)",
            "(default user) + (default client id)",
            "user bob + (default client id)",
            "(default client id)",
            "(default ip)",
        ]
        assert b"(default user)" in page.content
        assert b"10,485,760 bytes/s (10 MiB/s)" in page.content
        removed = client.post(
            BASE + "remove/", {"kind": "user", "user_default": "on", "key": "producer_byte_rate"}
        )
        assert removed.status_code == 302
        assert ((USER, None),) not in _quotas(broker.bootstrap)
        entry = AuditEntry.objects.filter(action="quota.remove").get()
        assert (entry.target, entry.detail) == ("(default user)", "user=<default>")


def test_kafka_refuses_a_value_in_its_own_words(
    client: Client, admin_user: Any, on_shared: tuple[str, str]
) -> None:
    bootstrap, tag = on_shared
    client.force_login(admin_user)
    app = f"app-{tag}"
    set_quota = _setter(client)
    refusals = {
        "1.5": "producer_byte_rate cannot be a fractional value.",
        "0": "Quota producer_byte_rate must be greater than 0",
        "-5": "Quota producer_byte_rate must be greater than 0",
    }
    for value, message in refusals.items():
        refused = set_quota("client-id", "producer_byte_rate", value, client_id=app)
        assert refused.status_code == 400, value
        errors = refused.context["form"].non_field_errors()
        assert any(message in e for e in errors), (value, errors)
        assert message.encode() in refused.content
    # What the form itself knows is refused before the cluster is asked.
    form_refusals = [
        (("user", "connection_creation_rate", "5"), {"user": "u"}, "not for this kind"),
        (("ip", "producer_byte_rate", "5"), {"ip": "192.0.2.1"}, "not for this kind"),
        (("user", "producer_byte_rate", "5"), {}, "Name the user"),
        (("user", "producer_byte_rate", "5"), {"user": "u", "user_default": "on"}, "not both"),
        (("client-id", "producer_byte_rate", "fast"), {"client_id": app}, "Give a number"),
    ]
    for args, names, message in form_refusals:
        refused = set_quota(*args, **names)
        assert refused.status_code == 400, (args, names)
        assert message in refused.content.decode(), (args, names)
    assert ((CLIENT_ID, app),) not in _quotas(bootstrap)
    assert not AuditEntry.objects.exists()


def test_validate_only_changes_nothing(on_shared: tuple[str, str]) -> None:
    bootstrap, tag = on_shared
    cluster = bare(bootstrap, timeout_s=10)
    # On a default entity, safely: validate-only never stores it.
    client_quotas.alter(cluster, ((USER, None),), {"producer_byte_rate": 1.0}, validate_only=True)
    with pytest.raises(Refused, match="cannot be a fractional value"):
        client_quotas.alter(
            cluster, ((CLIENT_ID, f"x-{tag}"),), {"producer_byte_rate": 0.5}, validate_only=True
        )
    held = _quotas(bootstrap)
    assert ((USER, None),) not in held
    assert ((CLIENT_ID, f"x-{tag}"),) not in held


@pytest.mark.parametrize("who", ["viewer_user", "member_user"])
def test_only_administrators_see_or_change_quotas(
    client: Client, who: str, request: pytest.FixtureRequest, on_shared: tuple[str, str]
) -> None:
    bootstrap, tag = on_shared
    app = f"app-{tag}"
    entity = ((CLIENT_ID, app),)
    client_quotas.alter(bare(bootstrap, timeout_s=10), entity, {"producer_byte_rate": MIB})
    before = _quotas(bootstrap)
    client.force_login(request.getfixturevalue(who))
    named = {"kind": "client-id", "client_id": app, "key": "producer_byte_rate"}
    paths = [
        ("get", BASE, {}),
        ("post", BASE + "set/", {**named, "value": "1024"}),
        ("post", BASE + "set/", {"kind": "user", "user_default": "on",
                                 "key": "producer_byte_rate", "value": "1"}),
        ("post", BASE + "remove/", named),
    ]  # fmt: skip
    for method, url, data in paths:
        for htmx in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = getattr(client, method)(url, data, **htmx)
            assert response.status_code == 403, (method, url, htmx)
            assert b"Only administrators" in response.content
            assert app.encode() not in response.content
    assert client.get(BASE + "set/").status_code in (403, 405)
    assert _quotas(bootstrap) == before
    assert before[entity] == {"producer_byte_rate": MIB}
    assert not AuditEntry.objects.exists()


def test_an_anonymous_visitor_is_sent_to_log_in(client: Client) -> None:
    for method, path in (("get", ""), ("post", "set/"), ("post", "remove/")):
        response = getattr(client, method)(BASE + path)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_the_page_sits_with_the_security_pages(client: Client, admin_user: Any) -> None:
    client.force_login(admin_user)
    with console_on("127.0.0.1:1"):
        users = client.get("/clusters/local/users/")
        page = client.get(BASE)
    assert b'href="/clusters/local/quotas/"' in users.content
    assert b'href="/clusters/local/users/"' in page.content
    nav = {item["key"]: item for item in page.context["nav_items"]}
    assert nav["security"]["active"]
    # An unreachable cluster is a banner, and the form is still there.
    assert b"is unreachable" in page.content
    assert b"Set quota" in page.content


def test_missing_rights_are_named(
    client: Client, admin_user: Any, secure: SecureCluster, console_cluster: str
) -> None:
    """The console's `limited` principal may neither describe nor alter quotas."""
    client.force_login(admin_user)
    base = f"/clusters/{LIMITED_SLUG}/quotas/"
    page = client.get(base)
    assert page.status_code == 200
    lacking = (
        "refused: Not authorized: the console&#x27;s credentials lack the DESCRIBE_CONFIGS "
        "permission on the cluster (needed to list the client quotas)"
    )
    assert lacking in page.content.decode()
    assert "unreachable" not in page.content.decode()
    tried = client.post(
        base + "set/",
        {"kind": "client-id", "client_id": "x", "key": "producer_byte_rate", "value": "1024"},
    )
    assert tried.status_code == 400
    assert "Not authorized" in " ".join(tried.context["form"].non_field_errors())
    limited = get_cluster(LIMITED_SLUG)
    with pytest.raises(NotAuthorized, match="ALTER_CONFIGS permission on the cluster"):
        client_quotas.alter(limited, ((CLIENT_ID, "x"),), {"producer_byte_rate": 1024.0})
    assert not AuditEntry.objects.exists()


def test_readable_values_and_names() -> None:
    assert terms.readable("producer_byte_rate", 512.0) == "512 bytes/s"
    assert terms.readable("consumer_byte_rate", 1536.0) == "1,536 bytes/s (1.5 KiB/s)"
    assert terms.readable("producer_byte_rate", 3 * 2.0**30) == "3,221,225,472 bytes/s (3 GiB/s)"
    assert terms.readable("request_percentage", 12.5) == "12.5%"
    assert terms.readable("some_future_key", 7.0) == "7"
    assert terms.entity_label(((USER, None), (CLIENT_ID, "c"))) == "(default user) + client id c"
    assert terms.entity_fields(((USER, "u"), (CLIENT_ID, None))) == {
        "kind": "user+client-id",
        "user": "u",
        "client_id_default": "on",
    }
    assert terms.keys_for("ip") == ("connection_creation_rate",)
    assert "connection_creation_rate" not in terms.keys_for("user+client-id")
    assert {word for word, _ in terms.TERMS} >= set(terms.USER_AND_CLIENT_KEYS + terms.IP_KEYS)


@pytest.mark.kafka
def test_apache_kafka_sets_lists_and_removes_a_quota(
    client: Client, admin_user: Any, kafka_broker: Any
) -> None:
    bootstrap = kafka_broker.bootstrap
    app = f"console-quota-{uuid.uuid4().hex[:8]}"
    client.force_login(admin_user)
    try:
        with console_on(bootstrap):
            made = _setter(client)("client-id", "producer_byte_rate", "3145728", client_id=app)
            assert made.status_code == 302, made.content[-2000:]
            assert _quotas(bootstrap)[((CLIENT_ID, app),)] == {"producer_byte_rate": 3145728.0}
            rows = {r.label: dict(r.items) for r in client.get(BASE).context["rows"]}
            assert rows[f"client id {app}"] == {"producer_byte_rate": "3,145,728 bytes/s (3 MiB/s)"}
            refused = _setter(client)("client-id", "producer_byte_rate", "1.5", client_id=app)
            assert b"producer_byte_rate cannot be a fractional value." in refused.content
            gone = client.post(
                BASE + "remove/",
                {"kind": "client-id", "client_id": app, "key": "producer_byte_rate"},
            )
            assert gone.status_code == 302
            assert ((CLIENT_ID, app),) not in _quotas(bootstrap)
            listed = client.get(BASE).context["rows"]
            assert f"client id {app}" not in {r.label for r in listed}
    finally:
        _clear(bootstrap, app.rsplit("-", 1)[1])
    actions = list(AuditEntry.objects.order_by("id").values_list("action", "target"))
    assert actions == [("quota.set", f"client id {app}"), ("quota.remove", f"client id {app}")]
