"""Every name Kafka allows reaches its page: group ids with "/", "%", "..", spaces, "ü",
"#?&" and long ones, and the longest legal topic name, through every groups and topic
page and htmx endpoint, against both real clusters (any client may commit such a group)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest
from django.test import Client, override_settings
from django.urls import resolve, reverse
from hypothesis import given
from hypothesis import strategies as st

from console.kafka import groups as kg
from console.names import from_segment, to_segment
from tests.clusters import (
    Cluster,
    cluster_or_three_nodes,  # noqa: F401 (this module's `cluster`)
)
from tests.console import groups_helpers as h
from tests.console.topics_helpers import commit

ODD_GROUP_IDS = [
    "a/b",
    "a%2Fb",
    "..",
    ".",
    "spaces and ü",
    "#?&=+;",
    "~2F~",
    "/leading/and/trailing/",
    "g" * 255,
]
LONGEST_TOPIC = ("t.-_" * 63)[:249]


@given(st.text())
def test_any_name_round_trips_through_one_segment(name: str) -> None:
    segment = to_segment(name)
    assert "/" not in segment
    assert segment not in {".", ".."}
    assert from_segment(segment) == name


@pytest.mark.parametrize("group", ODD_GROUP_IDS)
def test_reverse_then_resolve_gives_the_same_group(group: str) -> None:
    url = reverse("groups_reset", kwargs={"cluster": "local", "group": group})
    # The server sees the decoded path; browsers collapse "." and ".." segments first.
    path = unquote(url)
    assert "/./" not in path
    assert "/../" not in path
    match = resolve(path)
    assert match.url_name == "groups_reset"
    assert match.kwargs["group"] == group


@pytest.fixture
def on_cluster(cluster: Cluster) -> Iterator[Cluster]:
    with override_settings(ODRADEK_LOCAL_BOOTSTRAP=cluster.bootstrap, ODRADEK_CLUSTER_TIMEOUT=10):
        yield cluster


def _hrefs(body: str) -> list[str]:
    return [html.unescape(u) for u in re.findall(r'(?:href|action|hx-get|hx-post)="([^"]+)"', body)]


@pytest.mark.django_db
def test_odd_group_ids_work_on_every_group_page(
    client: Client, admin_user: Any, on_cluster: Cluster
) -> None:
    topic = h.make_topic(on_cluster.bootstrap, partitions=1)
    h.produce(on_cluster.bootstrap, topic, 0, [0] * 3)
    for group in ODD_GROUP_IDS:
        commit(on_cluster.bootstrap, group, topic, {0: 1})
    client.force_login(admin_user)

    listing = client.get("/clusters/local/groups/")
    assert listing.status_code == 200
    links = set(_hrefs(listing.content.decode()))
    partial = client.get("/clusters/local/groups/?q=", HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    partial_links = set(_hrefs(partial.content.decode()))
    readers = client.get(f"/clusters/local/topics/{topic}/consumers/", HTTP_HX_REQUEST="true")
    assert readers.status_code == 200
    reader_links = set(_hrefs(readers.content.decode()))
    for group in ODD_GROUP_IDS:
        detail_url = reverse("groups_detail", kwargs={"cluster": "local", "group": group})
        assert detail_url in links, group
        assert detail_url in partial_links, group
        assert detail_url in reader_links, group
        assert html.escape(group) in readers.content.decode()

        detail = client.get(detail_url)
        assert detail.status_code == 200, group
        body = detail.content.decode()
        assert f"Group {html.escape(group)}" in body
        assert topic in body
        # Every link the page makes back to this group resolves to this group.
        own = [u for u in _hrefs(body) if u.startswith(detail_url)]
        assert own, group
        for url in own:
            assert resolve(unquote(url.split("?")[0])).kwargs["group"] == group

        lag = client.get(f"{detail_url}?part=lag", HTTP_HX_REQUEST="true")
        assert lag.status_code == 200, group
        assert 'id="lag-table"' in lag.content.decode(), group

        reset_url = reverse("groups_reset", kwargs={"cluster": "local", "group": group})
        assert client.get(reset_url).status_code == 200
        preview = client.post(
            reset_url, {"topic": topic, "mode": "offset", "value": "2"}, HTTP_HX_REQUEST="true"
        )
        assert preview.status_code == 200
        signed = re.search(r'name="plan" value="([^"]+)"', preview.content.decode())
        assert signed, (group, preview.content.decode()[:500])
        applied = client.post(
            reverse("groups_reset_apply", kwargs={"cluster": "local", "group": group}),
            {"plan": signed.group(1)},
        )
        assert applied.status_code == 302, group
        assert applied["Location"] == detail_url, group
        offsets = kg.committed_offsets(h.cluster(on_cluster.bootstrap), [group])[group]
        assert offsets == {(topic, 0): 2}, group

        alert = client.post(
            reverse("groups_alert", kwargs={"cluster": "local", "group": group}),
            {"max_lag_messages": "5"},
        )
        assert alert.status_code == 302, group
        assert alert["Location"] == detail_url, group

    gone = ODD_GROUP_IDS[0]
    forgot = client.post(
        reverse("groups_delete_offsets", kwargs={"cluster": "local", "group": gone}),
        {"topic": topic},
    )
    assert forgot.status_code == 302
    assert kg.committed_offsets(h.cluster(on_cluster.bootstrap), [gone])[gone] == {}
    deleted = client.post(reverse("groups_delete", kwargs={"cluster": "local", "group": gone}))
    assert deleted.status_code == 302


@pytest.mark.django_db
def test_longest_topic_name_works_on_every_topic_page(
    client: Client, admin_user: Any, on_cluster: Cluster
) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    name = LONGEST_TOPIC[:-10] + h.unique("")[1:]
    assert len(name) == 249
    client_admin = AdminClient(h.conf(on_cluster.bootstrap))
    client_admin.create_topics([NewTopic(name, 1, 1)])[name].result(timeout=h.TIMEOUT)
    h.produce(on_cluster.bootstrap, name, 0, [0] * 2)
    commit(on_cluster.bootstrap, "reader/1", name, {0: 1})
    client.force_login(admin_user)
    base = f"/clusters/local/topics/{name}/"
    for url, htmx, expected in [
        (base, False, name),
        (f"{base}configs/retention.ms/", True, name),
        (f"{base}consumers/", True, "reader/1"),
        (f"{base}messages/", False, name),
        (f"{base}messages/?start=oldest", True, name),
        (f"{base}messages/0/0/value", True, ""),
        (f"{base}messages/0/0/raw", False, ""),
        (f"{base}messages/export.jsonl?start=oldest", False, '"offset": 1'),
        (f"{base}produce/", False, name),
        (f"{base}tail/", False, name),
        ("/clusters/local/retention/", False, name),
    ]:
        extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        response = client.get(url, **extra)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert expected in body.decode(errors="replace"), url
    produced = client.post(
        f"{base}produce/", {"value": "hi", "value_format": "text", "partition": "0"}
    )
    assert produced.status_code == 200
    assert "at offset <strong>2</strong>" in produced.content.decode()
    for url, form in [
        (f"/clusters/local/retention/{name}/", {"retention": "1 h"}),
        (f"{base}partitions/", {"total": "2"}),
        (f"{base}delete-records/", {"partition": "0", "offset": "1"}),
    ]:
        response = client.post(url, form)
        assert response.status_code == 302, url
        assert "error" not in [m.level_tag for m in response.wsgi_request._messages], url
    changed = client.post(f"{base}configs/retention.ms/", {"value": "3600000"})
    assert changed.status_code == 302
    assert changed["Location"] == base
    deleted = client.post(f"{base}delete/", {"confirm": name})
    assert deleted.status_code == 302
    assert deleted["Location"] == "/clusters/local/topics/"


@pytest.mark.django_db
def test_changes_to_a_group_id_longer_than_the_console_records_are_refused_in_words(
    client: Client, admin_user: Any, on_cluster: Cluster
) -> None:
    """Kafka allows longer group ids than the console's audit and alert columns hold: the
    page still shows such a group, and every change is refused before it happens."""
    from console.lag.models import LagAlert

    topic = h.make_topic(on_cluster.bootstrap, partitions=1)
    h.produce(on_cluster.bootstrap, topic, 0, [0] * 3)
    group = h.unique("grp-long-") + "y" * 300
    commit(on_cluster.bootstrap, group, topic, {0: 1})
    client.force_login(admin_user)
    detail_url = reverse("groups_detail", kwargs={"cluster": "local", "group": group})
    assert client.get(detail_url).status_code == 200
    for action, form in [
        ("groups_alert", {"max_lag_messages": "5"}),
        ("groups_delete", {}),
        ("groups_delete_offsets", {"topic": topic}),
        ("groups_reset_apply", {"plan": "x"}),
    ]:
        url = reverse(action, kwargs={"cluster": "local", "group": group})
        response = client.post(url, form, follow=True)
        assert response.status_code == 200, action
        assert "records changes only for ids of up to 255" in response.content.decode(), action
    assert not LagAlert.objects.filter(group=group).exists()
    assert kg.committed_offsets(h.cluster(on_cluster.bootstrap), [group])[group]  # untouched
