"""The broker configuration page against both real clusters (bundled Odradek and Apache Kafka).

Each test points the console's `local` cluster at the `cluster` fixture, drives the views
through Django's test client, and checks the effect with the gateway's own DescribeConfigs
on the cluster. The runtime change is reverted whatever happens: the clusters are shared.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings

from console.clusters import local_cluster
from console.kafka import brokers
from console.kafka.errors import NotFound, Refused
from console.kafka.model import BrokerConfig
from console.models import AuditEntry
from tests.clusters import cluster_or_three_nodes  # noqa: F401 (this module's `cluster`)
from tests.console.topics_helpers import console_on

pytestmark = pytest.mark.django_db

# Dynamic per broker on both: Kafka's log cleaner and the bundled broker's compaction budget.
DYNAMIC = "log.cleaner.io.max.bytes.per.second"
STATIC = "log.dirs"


@pytest.fixture
def node(cluster: Any) -> Iterator[int]:
    """The cluster's first node id, with the console pointed at the cluster; the dynamic
    config's runtime value is removed afterwards."""
    with console_on(cluster.bootstrap):
        node_id = brokers.broker_ids(local_cluster())[0]
        try:
            yield node_id
        finally:
            if _config(node_id, DYNAMIC).source == "DYNAMIC_BROKER_CONFIG":
                brokers.alter(local_cluster(), node_id, DYNAMIC, None)


def _config(node_id: int, name: str) -> BrokerConfig:
    found = brokers.config_of(local_cluster(), node_id, name)
    assert found is not None, name
    return found


def _url(node_id: int, name: str = "") -> str:
    return f"/clusters/local/brokers/{node_id}/configs/" + (f"{name}/" if name else "")


def test_page_lists_configs_with_their_sources(client: Client, viewer_user: Any, node: int) -> None:
    client.force_login(viewer_user)
    response = client.get(_url(node))
    assert response.status_code == 200
    rows = {c.name: c for c in response.context["configs"]}
    assert rows[STATIC].origin == "static"
    assert rows[STATIC].source == "STATIC_BROKER_CONFIG"
    assert rows[STATIC].read_only
    assert rows[DYNAMIC].origin == "default"
    assert not rows[DYNAMIC].read_only
    assert b"file or command line" in response.content
    # A member reads the page but gets no editor.
    assert _url(node, DYNAMIC).encode() not in response.content

    static_only = client.get(_url(node) + "?source=static")
    assert {c.origin for c in static_only.context["configs"]} == {"static"}
    assert STATIC in {c.name for c in static_only.context["configs"]}
    named = client.get(_url(node) + "?q=cleaner.io.max")
    assert [c.name for c in named.context["configs"]] == [DYNAMIC]


def test_overview_links_each_broker_to_its_configs(
    client: Client, viewer_user: Any, node: int
) -> None:
    client.force_login(viewer_user)
    response = client.get("/clusters/local/")
    assert _url(node).encode() in response.content


def test_admin_changes_a_dynamic_config_and_reverts_it(
    client: Client, admin_user: Any, node: int
) -> None:
    client.force_login(admin_user)
    editor = client.get(_url(node, DYNAMIC), HTTP_HX_REQUEST="true")
    assert editor.status_code == 200
    assert b'name="value"' in editor.content

    default = _config(node, DYNAMIC)
    changed = client.post(_url(node, DYNAMIC), {"value": "1048576"}, HTTP_HX_REQUEST="true")
    assert changed.status_code == 200
    assert b"changed at runtime" in changed.content
    now = _config(node, DYNAMIC)
    assert now.origin == "dynamic"
    assert now.value is not None
    assert float(now.value) == 1048576
    assert now.fallback == default.value
    page = client.get(_url(node) + "?source=dynamic")
    assert DYNAMIC in {c.name for c in page.context["configs"]}

    reverted = client.post(_url(node, DYNAMIC), {"revert": "1"}, HTTP_HX_REQUEST="true")
    assert reverted.status_code == 200
    assert _config(node, DYNAMIC).origin == "default"

    entries = list(AuditEntry.objects.filter(action="broker.config").order_by("id"))
    assert [e.target for e in entries] == [f"broker {node}", f"broker {node}"]
    assert entries[0].username == "admin"
    assert entries[0].before["source"] == "DEFAULT_CONFIG"
    assert entries[0].after["source"] == "DYNAMIC_BROKER_CONFIG"
    assert float(entries[0].after[DYNAMIC]) == 1048576
    assert entries[1].before["source"] == "DYNAMIC_BROKER_CONFIG"
    assert entries[1].after["source"] == "DEFAULT_CONFIG"
    assert entries[1].detail == "runtime value removed"


def test_a_refused_value_is_shown_in_kafkas_words(
    client: Client, admin_user: Any, node: int
) -> None:
    client.force_login(admin_user)
    before = _config(node, DYNAMIC)
    response = client.post(_url(node, DYNAMIC), {"value": "fast"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b'role="alert"' in response.content
    # Kafka's own sentence: "Invalid value fast for configuration ...".
    assert f"Could not change {DYNAMIC} of broker {node}: Invalid value fast".encode() in (
        response.content
    )
    assert _config(node, DYNAMIC) == before
    empty = client.post(_url(node, DYNAMIC), {"value": " "}, HTTP_HX_REQUEST="true")
    assert b"type its new value, or press Revert" in empty.content
    assert _config(node, DYNAMIC) == before
    assert not AuditEntry.objects.filter(action="broker.config").exists()


def test_a_static_config_is_not_editable_and_a_forged_post_is_refused(
    client: Client, admin_user: Any, node: int
) -> None:
    client.force_login(admin_user)
    before = _config(node, STATIC)
    page = client.get(_url(node))
    assert _url(node, STATIC).encode() not in page.content

    forged = client.post(_url(node, STATIC), {"value": "/tmp/elsewhere"}, follow=True)
    assert forged.status_code == 200
    shown = [str(m) for m in forged.context["messages"]]
    assert any("cannot change while broker" in m for m in shown), shown
    htmx = client.post(_url(node, STATIC), {"value": "/tmp/elsewhere"}, HTTP_HX_REQUEST="true")
    assert b"Change it there and restart the broker" in htmx.content
    assert _config(node, STATIC) == before
    assert not AuditEntry.objects.filter(action="broker.config").exists()


def test_a_member_cannot_change_a_broker_config(
    client: Client, viewer_user: Any, node: int
) -> None:
    client.force_login(viewer_user)
    before = _config(node, DYNAMIC)
    response = client.post(_url(node, DYNAMIC), {"value": "1048576"})
    assert response.status_code == 403
    assert b"Only administrators" in response.content
    assert client.get(_url(node, DYNAMIC), HTTP_HX_REQUEST="true").status_code == 403
    assert _config(node, DYNAMIC) == before
    assert not AuditEntry.objects.filter(action="broker.config").exists()


def test_unknown_broker_and_config_are_not_found(
    client: Client, admin_user: Any, node: int
) -> None:
    client.force_login(admin_user)
    assert client.get(_url(node + 1000)).status_code == 404
    assert client.post(_url(node, "no.such.config"), {"value": "1"}).status_code == 404


def test_the_brokers_nav_item_leads_to_the_brokers_page_and_their_configs(
    client: Client, viewer_user: Any, node: int
) -> None:
    client.force_login(viewer_user)
    page = client.get(_url(node))
    nav = {item["key"]: item for item in page.context["nav_items"]}
    assert nav["broker"]["active"]
    assert nav["broker"]["href"] == "/clusters/local/brokers/"
    response = client.get("/clusters/local/brokers/")
    assert response.status_code == 200
    first = min(brokers.broker_ids(local_cluster()))
    assert f'href="{_url(first)}"'.encode() in response.content


def test_gateway_maps_the_clusters_refusals(node: int) -> None:
    # Past the view's read-only check, the cluster itself refuses, in its own words.
    with pytest.raises(Refused, match="dynamically"):
        brokers.alter(local_cluster(), node, STATIC, "/tmp/elsewhere")
    with pytest.raises(NotFound, match="no broker"):
        brokers.describe(local_cluster(), node + 1000)


@override_settings(ODRADEK_LOCAL_BOOTSTRAP="127.0.0.1:1", ODRADEK_CLUSTER_TIMEOUT=1)
def test_an_unreachable_cluster_gives_a_banner_not_an_error(
    client: Client, admin_user: Any
) -> None:
    client.force_login(admin_user)
    for url in ("/clusters/local/brokers/", "/clusters/local/brokers/0/configs/"):
        response = client.get(url)
        assert response.status_code == 200
        assert b"is unreachable" in response.content
    refused = client.post("/clusters/local/brokers/0/configs/max.connections/", {"value": "5"})
    assert refused.status_code == 302
    assert not AuditEntry.objects.filter(action="broker.config").exists()


def test_revert_offers_no_value_of_a_coarser_synonym(node: int) -> None:
    """Kafka lists log.retention.hours (168) among log.retention.ms's synonyms: removing a
    runtime log.retention.ms does not bring back "168" milliseconds."""
    name = "log.retention.ms"
    brokers.alter(local_cluster(), node, name, "3600000")
    try:
        now = _config(node, name)
        assert (now.origin, now.value) == ("dynamic", "3600000")
        assert now.fallback is None
    finally:
        brokers.alter(local_cluster(), node, name, None)
    assert _config(node, name).origin == "default"
