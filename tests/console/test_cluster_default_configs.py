"""The cluster-wide default broker configs (the BROKER resource "") on the brokers page,
against both real clusters (bundled Odradek and Apache Kafka).

Each test points the console's `local` cluster at the `cluster` fixture, drives the views
through Django's test client and checks the effect with the gateway's own DescribeConfigs.
The clusters are shared by every test, so only a harmless config is ever set (the log
cleaner's bandwidth, to a value no disk reaches) and it is removed whatever happens.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings

from console.clusters import local_cluster
from console.kafka import cluster_defaults
from console.kafka.errors import Refused
from console.models import AuditEntry
from tests.clusters import cluster_or_three_nodes  # noqa: F401 (this module's `cluster`)
from tests.console.topics_helpers import console_on

pytestmark = pytest.mark.django_db

HARMLESS = "log.cleaner.io.max.bytes.per.second"
LARGE = "1000000000000"  # 1 TB/s: the cleaner is not held back by it
ACTION = "broker.default_config"
PAGE = "/clusters/local/brokers/"
SECTION = "/clusters/local/brokers/defaults/"
SET = SECTION + "set/"
REMOVE = SECTION + "remove/"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def on_cluster(cluster: Any) -> Iterator[Any]:
    """The console pointed at the cluster; the harmless default is removed afterwards."""
    with console_on(cluster.bootstrap):
        try:
            yield cluster
        finally:
            if HARMLESS in _defaults():
                cluster_defaults.alter(local_cluster(), HARMLESS, None)


def _defaults() -> dict[str, str | None]:
    return dict(cluster_defaults.describe(local_cluster()))


def _listed_large(found: dict[str, str | None]) -> bool:
    value = found.get(HARMLESS)
    return value is not None and float(value) == float(LARGE)


def test_the_brokers_page_lists_the_cluster_defaults(
    client: Client, viewer_user: Any, on_cluster: Any
) -> None:
    rows = cluster_defaults.alter(local_cluster(), HARMLESS, LARGE)
    assert [name for name, _ in rows] == sorted(name for name, _ in rows)
    assert _listed_large(dict(rows))
    client.force_login(viewer_user)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert b"Cluster-wide defaults" in page.content
    assert b"unless the broker sets its own" in page.content
    assert HARMLESS in dict(page.context["defaults"])
    assert f"<code>{HARMLESS}</code>".encode() in page.content
    # A reader gets neither the form nor the remove buttons.
    assert SET.encode() not in page.content
    assert REMOVE.encode() not in page.content
    alone = client.get(SECTION, **HTMX)
    assert alone.status_code == 200
    assert b'id="cluster-defaults"' in alone.content
    assert b"<html" not in alone.content
    assert HARMLESS in dict(alone.context["defaults"])


def test_an_admin_sets_a_default_with_the_form_and_it_is_audited(
    client: Client, admin_user: Any, on_cluster: Any
) -> None:
    client.force_login(admin_user)
    page = client.get(PAGE)
    assert SET.encode() in page.content
    assert HARMLESS not in _defaults()

    response = client.post(SET, {"config": HARMLESS, "value": LARGE})
    assert response.status_code == 302
    assert response["Location"] == PAGE + "#cluster-defaults"
    assert _listed_large(_defaults())
    shown = [str(m) for m in client.get(PAGE).context["messages"]]
    assert any(HARMLESS in m and "Every broker now uses" in m for m in shown), shown

    again = client.post(SET, {"config": HARMLESS, "value": "2000000000000"}, **HTMX)
    assert again.status_code == 200
    assert b'id="cluster-defaults"' in again.content
    assert b"msg-success" in again.content
    assert float(_defaults()[HARMLESS] or 0) == 2e12

    entries = list(AuditEntry.objects.filter(action=ACTION).order_by("id"))
    assert [(e.username, e.cluster, e.target) for e in entries] == [
        ("admin", "local", "cluster-wide defaults"),
        ("admin", "local", "cluster-wide defaults"),
    ]
    assert entries[0].before == {HARMLESS: None}
    assert float(entries[0].after[HARMLESS]) == float(LARGE)
    assert float(entries[1].before[HARMLESS]) == float(LARGE)
    assert float(entries[1].after[HARMLESS]) == 2e12


def test_an_admin_removes_a_default(client: Client, admin_user: Any, on_cluster: Any) -> None:
    cluster_defaults.alter(local_cluster(), HARMLESS, LARGE)
    client.force_login(admin_user)
    page = client.get(PAGE)
    assert REMOVE.encode() in page.content
    assert f'name="config" value="{HARMLESS}"'.encode() in page.content

    removed = client.post(REMOVE, {"config": HARMLESS}, **HTMX)
    assert removed.status_code == 200
    assert b"msg-success" in removed.content
    assert HARMLESS not in dict(removed.context["defaults"])
    assert HARMLESS not in _defaults()
    entry = AuditEntry.objects.get(action=ACTION)
    assert float(entry.before[HARMLESS]) == float(LARGE)
    assert entry.after == {HARMLESS: None}
    assert entry.detail == "cluster-wide default removed"

    nothing = client.post(REMOVE, {"config": HARMLESS}, follow=True)
    assert nothing.status_code == 200
    shown = [str(m) for m in nothing.context["messages"]]
    assert any("Nothing to remove" in m for m in shown), shown
    assert AuditEntry.objects.filter(action=ACTION).count() == 1


def test_an_invalid_value_is_refused_in_kafkas_words(
    client: Client, admin_user: Any, on_cluster: Any
) -> None:
    client.force_login(admin_user)
    before = _defaults()
    for extra in ({}, HTMX):
        response = client.post(SET, {"config": "max.connections", "value": "-3"}, **extra)
        assert response.status_code == 400
        assert b'role="alert"' in response.content
        assert b"Invalid value -3 for configuration max.connections" in response.content
    # What was typed, and Kafka's sentence quoting it, come back escaped. (Never an odd
    # name here: Apache Kafka keeps any name as a cluster-wide default, on a shared cluster.)
    odd = client.post(SET, {"config": "max.connections", "value": "<b>-3</b>"})
    assert odd.status_code == 400
    assert b"Invalid value &lt;b&gt;-3&lt;/b&gt;" in odd.content
    assert b"<b>-3</b>" not in odd.content
    assert _defaults() == before
    assert not AuditEntry.objects.filter(action=ACTION).exists()


def test_a_static_config_is_refused(client: Client, admin_user: Any, on_cluster: Any) -> None:
    client.force_login(admin_user)
    before = _defaults()
    response = client.post(SET, {"config": "num.partitions", "value": "3"})
    assert response.status_code == 400
    assert b"Cannot update these configs dynamically" in response.content
    with pytest.raises(Refused, match="Cannot update these configs dynamically"):
        cluster_defaults.alter(local_cluster(), "num.partitions", "3")
    assert _defaults() == before
    assert not AuditEntry.objects.filter(action=ACTION).exists()


def test_a_member_is_refused_every_change(
    client: Client, member_user: Any, on_cluster: Any
) -> None:
    cluster_defaults.alter(local_cluster(), HARMLESS, LARGE)
    client.force_login(member_user)
    assert client.get(PAGE).status_code == 200
    for extra in ({}, HTMX):
        refused = client.post(SET, {"config": HARMLESS, "value": "5"}, **extra)
        assert refused.status_code == 403
        assert b"Only administrators" in refused.content
        assert client.post(REMOVE, {"config": HARMLESS}, **extra).status_code == 403
        assert client.get(SET, **extra).status_code == 405
    assert _listed_large(_defaults())
    assert not AuditEntry.objects.filter(action=ACTION).exists()


@override_settings(ODRADEK_LOCAL_BOOTSTRAP="127.0.0.1:1", ODRADEK_CLUSTER_TIMEOUT=1)
def test_an_unreachable_cluster_leaves_the_section_unknown(client: Client, admin_user: Any) -> None:
    client.force_login(admin_user)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert b"Not known" in page.content
    assert client.get(SECTION).status_code == 200
    failed = client.post(SET, {"config": HARMLESS, "value": LARGE})
    assert failed.status_code == 502
    assert b'role="alert"' in failed.content
    assert not AuditEntry.objects.filter(action=ACTION).exists()
