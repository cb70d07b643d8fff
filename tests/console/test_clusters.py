"""Clusters: resolving slugs, adding and removing clusters, the switcher, and pages that
answer (with a banner, never a stack trace) when a cluster is unreachable."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client, override_settings

from console.clusters import ClusterNotFound, all_clusters, get_cluster
from console.kafka import admin
from console.models import AuditEntry, Cluster
from tests.clusters import cluster_or_three_nodes  # noqa: F401 (this module's `cluster`)
from tests.console.topics_helpers import console_on, make_topic, unique

pytestmark = pytest.mark.django_db
DEAD = "127.0.0.1:1"


def test_local_comes_from_settings_and_others_from_rows() -> None:
    with override_settings(ODRADEK_LOCAL_BOOTSTRAP="127.0.0.1:9999"):
        assert get_cluster("local").bootstrap == "127.0.0.1:9999"
    Cluster.objects.create(
        slug="prod",
        name="Prod",
        bootstrap_servers="k1:9093",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="u",
        sasl_password="p",
        ssl_ca_pem="-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n",
    )
    conf = get_cluster("prod").client_config()
    assert conf["bootstrap.servers"] == "k1:9093"
    assert conf["sasl.mechanism"] == "SCRAM-SHA-512"
    assert conf["sasl.password"] == "p"
    with open(str(conf["ssl.ca.location"])) as fh:
        assert "BEGIN CERTIFICATE" in fh.read()
    assert [c.slug for c in all_clusters()] == ["local", "prod"]
    assert "p" not in repr(get_cluster("prod")).split("sasl_username")[1]
    with pytest.raises(ClusterNotFound):
        get_cluster("nope")


def test_unknown_cluster_is_404(client: Client, admin_user: Any) -> None:
    client.force_login(admin_user)
    for url in ("/clusters/nope/", "/clusters/nope/topics/", "/clusters/nope/retention/"):
        assert client.get(url).status_code == 404


def test_admin_adds_cluster_and_validation_is_readable(client: Client, admin_user: Any) -> None:
    client.force_login(admin_user)
    bad = client.post(
        "/clusters/",
        {
            "name": "X",
            "slug": "local",
            "bootstrap_servers": "nohost",
            "security_protocol": "PLAINTEXT",
        },
    )
    assert bad.status_code == 400
    assert b"bundled broker" in bad.content
    assert b"is not host:port" in bad.content
    sasl = client.post(
        "/clusters/",
        {
            "name": "X",
            "slug": "x",
            "bootstrap_servers": "a:9092",
            "security_protocol": "PLAINTEXT",
            "sasl_mechanism": "PLAIN",
        },
    )
    assert b"SASL credentials need" in sasl.content
    ok = client.post(
        "/clusters/",
        {
            "name": "Staging",
            "slug": "staging",
            "bootstrap_servers": "k1:9092,k2:9092",
            "security_protocol": "PLAINTEXT",
        },
    )
    assert ok["Location"] == "/clusters/staging/"
    assert AuditEntry.objects.get(action="cluster.add").target == "Staging"
    listing = client.get("/clusters/")
    assert b"k1:9092,k2:9092" in listing.content
    client.post("/clusters/staging/remove/")
    assert not Cluster.objects.filter(slug="staging").exists()
    assert AuditEntry.objects.filter(action="cluster.remove").exists()


def test_viewer_cannot_add_or_remove_clusters(client: Client, viewer_user: Any) -> None:
    Cluster.objects.create(slug="prod", name="Prod", bootstrap_servers="k:9092")
    client.force_login(viewer_user)
    assert client.post("/clusters/", {"name": "X"}).status_code == 403
    assert client.post("/clusters/prod/remove/").status_code == 403
    assert Cluster.objects.filter(slug="prod").exists()
    assert b"Add a cluster" not in client.get("/clusters/").content


@override_settings(ODRADEK_CLUSTER_TIMEOUT=1)
def test_unreachable_cluster_pages_show_banner_quickly(client: Client, admin_user: Any) -> None:
    Cluster.objects.create(slug="gone", name="Gone", bootstrap_servers=DEAD)
    client.force_login(admin_user)
    for url in ("/clusters/gone/", "/clusters/gone/topics/", "/clusters/gone/retention/"):
        started = time.monotonic()
        response = client.get(url)
        assert response.status_code == 200
        assert b"is unreachable" in response.content
        assert b"Traceback" not in response.content
        assert time.monotonic() - started < 10
    detail = client.get("/clusters/gone/topics/anything/")
    assert detail.status_code == 200
    assert b"is unreachable" in detail.content


def test_switcher_lists_clusters_and_keeps_the_section(client: Client, admin_user: Any) -> None:
    Cluster.objects.create(slug="gone", name="Gone", bootstrap_servers=DEAD)
    client.force_login(admin_user)
    with override_settings(ODRADEK_CLUSTER_TIMEOUT=1):
        response = client.get("/clusters/gone/retention/")
    assert b'href="/clusters/local/retention/"' in response.content
    assert b'href="/clusters/gone/retention/"' in response.content
    assert b"Manage clusters" in response.content


@override_settings(ODRADEK_CLUSTER_TIMEOUT=1)
def test_stale_snapshot_shown_when_cluster_goes_away(
    client: Client, admin_user: Any, broker: Any
) -> None:
    """After one good answer, a cluster that stops still shows its last topics, marked."""
    name = unique("stale-")
    make_topic(broker.bootstrap, name)
    Cluster.objects.create(slug="soon-gone", name="Soon gone", bootstrap_servers=broker.bootstrap)
    client.force_login(admin_user)
    assert name.encode() in client.get(f"/clusters/soon-gone/topics/?q={name}").content
    broker.kill9()
    admin.reset()
    response = client.get(f"/clusters/soon-gone/topics/?q={name}")
    assert b"is unreachable" in response.content
    assert name.encode() in response.content
    assert b"showing what it reported at" in response.content


def test_overview_counts(client: Client, admin_user: Any, cluster: Any) -> None:
    client.force_login(admin_user)
    with console_on(cluster.bootstrap):
        name = unique("ov-")
        make_topic(cluster.bootstrap, name, partitions=2)
        response = client.get("/clusters/local/")
    assert response.status_code == 200
    ctx = response.context
    assert len(ctx["brokers"]) == cluster.nodes
    # Every broker is counted in the leader skew, each answering and holding its copies.
    health = ctx["health"]
    assert set(health.leaders) == set(ctx["brokers"])
    assert (health.offline, health.missing_brokers) == (0, [])
    assert ctx["total_size"] is not None
    assert ctx["topic_count"] >= 1
    assert ctx["partition_count"] >= 2
    assert b"Messages in the last minute" in response.content
    # Counts in plain words, the exact value on hover.
    assert f'title="{ctx["partition_count"]:,}"'.encode() in response.content


def test_banner_says_which_figures_are_missing() -> None:
    from django.template.loader import render_to_string

    from console.clusters import local_cluster

    snap = admin.Snapshot(
        "local", 0, {}, {}, warnings=["3 partitions did not report their end offset"]
    )
    html = render_to_string(
        "console/_cluster_banner.html", {"cluster": local_cluster(), "snapshot": snap}
    )
    assert "Some figures are missing" in html
    assert "3 partitions did not report their end offset" in html
    clean = admin.Snapshot("local", 0, {}, {})
    assert (
        render_to_string(
            "console/_cluster_banner.html", {"cluster": local_cluster(), "snapshot": clean}
        ).strip()
        == ""
    )


# --- editing a cluster -------------------------------------------------------------------

SECURE = {
    "name": "Prod",
    "bootstrap_servers": "k1:9093",
    "security_protocol": "SASL_PLAINTEXT",
    "sasl_mechanism": "SCRAM-SHA-512",
    "sasl_username": "console",
    "ssl_ca_pem": "",
}


def _prod() -> Cluster:
    return Cluster.objects.create(slug="prod", sasl_password="s3cret-one", **SECURE)


def test_admin_edits_cluster_keeping_the_password_and_audit_hides_it(
    client: Client, admin_user: Any
) -> None:
    _prod()
    client.force_login(admin_user)
    form = client.get("/clusters/prod/edit/")
    assert form.status_code == 200
    assert b"s3cret-one" not in form.content  # the password is never sent back
    assert b"Leave empty to keep the stored password" in form.content
    response = client.post(
        "/clusters/prod/edit/",
        {**SECURE, "name": "Production", "bootstrap_servers": "k1:9093,k2:9093"},
    )
    assert response.status_code == 302
    row = Cluster.objects.get(slug="prod")
    assert (row.name, row.bootstrap_servers, row.sasl_password) == (
        "Production",
        "k1:9093,k2:9093",
        "s3cret-one",
    )
    entry = AuditEntry.objects.get(action="cluster.edit")
    assert entry.before == {"name": "Prod", "bootstrap": "k1:9093"}
    assert entry.after == {"name": "Production", "bootstrap": "k1:9093,k2:9093"}

    client.post("/clusters/prod/edit/", {**SECURE, "sasl_password": "s3cret-two"})
    assert Cluster.objects.get(slug="prod").sasl_password == "s3cret-two"
    last = AuditEntry.objects.filter(action="cluster.edit").first()
    assert last is not None
    assert last.after["sasl_password"] == "changed"
    assert "s3cret" not in str(last.before) + str(last.after) + last.detail

    # Dropping SASL forgets the credentials.
    client.post(
        "/clusters/prod/edit/",
        {**SECURE, "security_protocol": "PLAINTEXT", "sasl_mechanism": "", "sasl_username": ""},
    )
    row = Cluster.objects.get(slug="prod")
    assert (row.sasl_mechanism, row.sasl_username, row.sasl_password) == ("", "", "")


def test_edit_validation_is_readable(client: Client, admin_user: Any) -> None:
    _prod()
    client.force_login(admin_user)
    cases = {
        "is not host:port": {"bootstrap_servers": "nohost"},
        b"SASL credentials need": {"security_protocol": "PLAINTEXT"},
        b"needs a SASL mechanism": {"sasl_mechanism": ""},
        b"SASL needs a user name": {"sasl_username": ""},
        b"Paste the CA certificate in PEM form": {
            "security_protocol": "SASL_SSL",
            "ssl_ca_pem": "not a cert",
        },
        b"only used with SSL": {
            "ssl_ca_pem": "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----"
        },
    }
    for expected, change in cases.items():
        response = client.post("/clusters/prod/edit/", {**SECURE, **change})
        assert response.status_code == 400, expected
        text = expected.encode() if isinstance(expected, str) else expected
        assert text in response.content
        assert b"Traceback" not in response.content
    assert Cluster.objects.get(slug="prod").bootstrap_servers == "k1:9093"
    assert not AuditEntry.objects.filter(action="cluster.edit").exists()


def test_new_sasl_cluster_without_stored_password_needs_one(
    client: Client, admin_user: Any
) -> None:
    Cluster.objects.create(slug="plain", name="Plain", bootstrap_servers="k:9092")
    client.force_login(admin_user)
    response = client.post("/clusters/plain/edit/", {**SECURE, "name": "Plain"})
    assert response.status_code == 400
    assert b"none is stored yet" in response.content


def test_local_and_viewers_cannot_edit(client: Client, admin_user: Any, viewer_user: Any) -> None:
    _prod()
    client.force_login(viewer_user)
    assert client.get("/clusters/prod/edit/").status_code == 403
    assert client.post("/clusters/prod/edit/", {**SECURE, "name": "X"}).status_code == 403
    assert Cluster.objects.get(slug="prod").name == "Prod"
    client.force_login(admin_user)
    local = client.get("/clusters/local/edit/")
    assert local.status_code == 403
    assert b"ODRADEK_LOCAL_BOOTSTRAP" in local.content
    listing = client.get("/clusters/")
    assert b"not editable here" in listing.content
    assert b'href="/clusters/prod/edit/"' in listing.content
    assert b'href="/clusters/local/edit/"' not in listing.content
    assert client.get("/clusters/nope/edit/").status_code == 404


def test_editing_points_pages_at_the_new_address(
    client: Client, admin_user: Any, cluster: Any
) -> None:
    """Cached clients and figures of the old address are dropped at once."""
    name = unique("moved-")
    make_topic(cluster.bootstrap, name)
    Cluster.objects.create(slug="moving", name="Moving", bootstrap_servers=DEAD)
    client.force_login(admin_user)
    with override_settings(ODRADEK_CLUSTER_TIMEOUT=1):
        assert b"is unreachable" in client.get("/clusters/moving/topics/").content
        response = client.post(
            "/clusters/moving/edit/",
            {
                "name": "Moving",
                "bootstrap_servers": cluster.bootstrap,
                "security_protocol": "PLAINTEXT",
            },
        )
        assert response.status_code == 302
    with override_settings(ODRADEK_CLUSTER_TIMEOUT=5):
        page = client.get(f"/clusters/moving/topics/?q={name}")
    assert b"is unreachable" not in page.content
    assert [r["topic"].name for r in page.context["rows"]] == [name]
    admin.reset()
