"""Who may change a share group, tried on every path by the user who must be refused, on
both clusters: a viewer and a member of another team get 403 (readable) on the reset
apply, offset deletion, config and alert endpoints, as forms and as htmx requests, and
see a preview they cannot apply; nothing changes on the cluster. The team owning the
topic may. Group ids Kafka allows ("/", "..", spaces, "#?&", 255 characters) reach every
share-group page and endpoint; longer ids are viewable but not changed.

Share groups are created here with AlterShareGroupOffsets (Kafka creates the group's
state on it), which is what the console's own reset sends.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest
from django.contrib.auth.models import Group
from django.test import Client, override_settings
from django.urls import resolve, reverse

from console.kafka import shares
from console.lag.models import LagAlert
from console.models import AuditEntry, Team
from tests.clusters import (
    Cluster,
    cluster_or_three_nodes,  # noqa: F401 (this module's `cluster`)
)
from tests.console import groups_helpers as h
from tests.console import share_helpers as s
from tests.console.test_names_in_urls import ODD_GROUP_IDS

pytestmark = pytest.mark.django_db
CHANGES = ("reset_apply", "delete_offsets", "configs", "alert")
LONG_ON_ODRADEK = 120


@pytest.fixture
def on_cluster(cluster: Cluster) -> Iterator[Cluster]:
    with override_settings(ODRADEK_LOCAL_BOOTSTRAP=cluster.bootstrap, ODRADEK_CLUSTER_TIMEOUT=10):
        yield cluster


@pytest.fixture
def topic(on_cluster: Cluster) -> str:
    name = h.make_topic(on_cluster.bootstrap, partitions=1)
    h.produce(on_cluster.bootstrap, name, 0, [0] * 5)
    return name


def _create(bootstrap: str, group: str, topic: str, start: int = 2) -> None:
    shares.reset_start(h.cluster(bootstrap), group, {(topic, 0): start})
    s.wait_for_start(bootstrap, group, topic, start)


def _url(name: str, group: str) -> str:
    return reverse(f"share_groups_{name}", kwargs={"cluster": "local", "group": group})


def _signed_by_admin(admin_user: Any, group: str) -> str:
    admin = Client()
    admin.force_login(admin_user)
    body = admin.post(
        _url("reset", group), {"mode": "earliest"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    found = re.search(r'name="plan" value="([^"]+)"', body)
    assert found, body
    return found.group(1)


def _user(django_user_model: Any, name: str, prefix: str) -> Any:
    user = django_user_model.objects.create_user(name, "", f"{name}-pass-123")
    team_group = Group.objects.create(name=f"team:{name}")
    Team.objects.create(name=name, group=team_group, topic_prefix=prefix)
    user.groups.add(team_group)
    return user


@pytest.mark.parametrize("who", ["viewer", "other_team"])
def test_non_owners_are_refused_on_every_path(
    client: Client,
    admin_user: Any,
    viewer_user: Any,
    django_user_model: Any,
    on_cluster: Cluster,
    topic: str,
    who: str,
) -> None:
    group = s.unique_group("share-refuse")
    _create(on_cluster.bootstrap, group, topic)
    user = viewer_user if who == "viewer" else _user(django_user_model, "other", "other.")
    signed = _signed_by_admin(admin_user, group)
    client.force_login(user)

    page = client.get(_url("detail", group)).content.decode()
    assert "Reset start offsets…" not in page
    assert 'name="share.delivery.count.limit"' not in page  # configs shown, not editable
    assert "Forget offsets for" not in page
    preview = client.post(
        _url("reset", group), {"mode": "earliest"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "only the team owning these topics" in preview
    assert 'name="plan"' not in preview
    posts = {
        "reset_apply": {"plan": signed},
        "delete_offsets": {"topic": topic},
        "configs": {"share.delivery.count.limit": "3"},
        "alert": {"max_lag_messages": "1"},
    }
    for htmx in (False, True):
        headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        for name in CHANGES:
            response = client.post(_url(name, group), posts[name], **headers)
            assert response.status_code == 403, (name, htmx)
            body = response.content.decode()
            assert "administrators or the team owning" in body, (name, body[:300])

    state = shares.describe_one(h.cluster(on_cluster.bootstrap), group)
    assert state.starts[(topic, 0)].start == 2
    configs = shares.configs(h.cluster(on_cluster.bootstrap), group)
    assert configs["share.delivery.count.limit"].source != "override"
    assert not LagAlert.objects.exists()
    assert not AuditEntry.objects.exists()


def test_the_owning_team_may_change_its_share_group(
    client: Client, admin_user: Any, django_user_model: Any, on_cluster: Cluster, topic: str
) -> None:
    group = s.unique_group("share-owned")
    _create(on_cluster.bootstrap, group, topic)
    client.force_login(_user(django_user_model, "owners", topic))

    page = client.get(_url("detail", group)).content.decode()
    assert "Reset start offsets…" in page
    preview = client.post(
        _url("reset", group), {"mode": "earliest"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    signed = re.search(r'name="plan" value="([^"]+)"', preview)
    assert signed, preview
    assert client.post(_url("reset_apply", group), {"plan": signed.group(1)}).status_code == 302
    assert (
        client.post(_url("configs", group), {"share.delivery.count.limit": "4"}).status_code == 302
    )

    cfg = h.cluster(on_cluster.bootstrap)
    assert shares.describe_one(cfg, group).starts[(topic, 0)].start == 0
    assert shares.configs(cfg, group)["share.delivery.count.limit"].value == "4"
    assert {e.username for e in AuditEntry.objects.all()} == {"owners"}


def test_odd_group_ids_reach_every_share_group_page(
    client: Client, admin_user: Any, on_cluster: Cluster, topic: str
) -> None:
    client.force_login(admin_user)
    # The bundled broker names a share group's state file after the id in hex, so ids
    # over ~120 characters exceed the file-name limit there (its connection closes).
    odd = [g for g in ODD_GROUP_IDS if len(g) < LONG_ON_ODRADEK or on_cluster.is_kafka]
    # Distinct from the consumer groups of the same odd ids other tests commit; at most
    # the 255 characters the console records changes for.
    odd = [f"s-{g}"[:255] for g in odd]
    for group in odd:
        _create(on_cluster.bootstrap, group, topic)
    listing = client.get("/clusters/local/groups/").content.decode()
    readers = client.get(f"/clusters/local/topics/{topic}/consumers/").content.decode()
    for group in odd:
        detail_url = _url("detail", group)
        assert detail_url in html.unescape(listing), group
        assert detail_url in html.unescape(readers), group
        body = client.get(detail_url).content.decode()
        assert f"Share group {html.escape(group)}" in body, group
        own = [
            html.unescape(u)
            for u in re.findall(r'(?:href|action|hx-get|hx-post)="([^"]+)"', body)
            if html.unescape(u).startswith(detail_url)
        ]
        assert len(own) >= 5, group  # refresh, reset, configs, alert, forget offsets
        for url in own:
            assert resolve(unquote(url.split("?")[0])).kwargs["group"] == group
        fragment = client.get(f"{detail_url}?part=lag", HTTP_HX_REQUEST="true")
        assert 'id="lag-table"' in fragment.content.decode(), group
        signed = _signed_by_admin(admin_user, group)
        applied = client.post(_url("reset_apply", group), {"plan": signed})
        assert applied["Location"] == detail_url, group
        alert = client.post(_url("alert", group), {"max_lag_messages": "5"})
        assert alert["Location"] == detail_url, group
        cfg = h.cluster(on_cluster.bootstrap)
        assert shares.describe_one(cfg, group).starts[(topic, 0)].start == 0, group


def test_ids_too_long_to_record_are_shown_but_not_changed(
    client: Client, admin_user: Any, on_cluster: Cluster
) -> None:
    group = "s" * 300
    client.force_login(admin_user)
    for name in CHANGES:
        response = client.post(_url(name, group), {"topic": "t"}, follow=True)
        assert "records changes only for ids of up to 255" in response.content.decode(), name
    assert client.get(_url("detail", group)).status_code == 200
    assert not AuditEntry.objects.exists()
