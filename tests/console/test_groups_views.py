"""The consumer-group pages through Django's test client, against both clusters: list,
detail, the reset preview → apply flow with its audit entry and replay progress, refusals,
readable errors, the topic page's "who reads this" fragment."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings

from console.kafka import groups as kg
from console.lag.models import LagAlert, ResetRecord
from console.models import AuditEntry
from tests.clusters import (
    Cluster,
    cluster_or_three_nodes,  # noqa: F401 (this module's `cluster`)
)
from tests.console import groups_helpers as h

pytestmark = pytest.mark.django_db
MINUTE = 60_000


@pytest.fixture
def on_cluster(cluster: Cluster) -> Iterator[Cluster]:
    with override_settings(ODRADEK_LOCAL_BOOTSTRAP=cluster.bootstrap, ODRADEK_CLUSTER_TIMEOUT=10):
        yield cluster


@pytest.fixture
def lagging(on_cluster: Cluster) -> tuple[str, str, int]:
    """A group 10 records into a 20-record topic whose records are 20..1 minutes old."""
    topic = h.make_topic(on_cluster.bootstrap, partitions=1)
    now = int(time.time() * 1000)
    h.produce(on_cluster.bootstrap, topic, 0, [now - (20 - i) * MINUTE for i in range(20)])
    group = h.unique("grp-view")
    h.consume_to(on_cluster.bootstrap, group, topic, {0: 10})
    return topic, group, now


def test_group_list_shows_lag_and_filters(client: Client, admin_user: Any, lagging: Any) -> None:
    _, group, _ = lagging
    client.force_login(admin_user)
    page = client.get("/clusters/local/groups/").content.decode()
    assert group in page
    assert "A consumer group is" in page
    row = page[page.index(group) :].split("</tr>")[0]
    assert 'title="10">10<' in row  # lag 10 messages, exact value on hover
    assert re.search(r"1[01] min( \d+ s)?</span> behind", row)  # record 10 is 10 min old
    filtered = client.get("/clusters/local/groups/?q=no-such-group", HTTP_HX_REQUEST="true")
    assert group not in filtered.content.decode()
    assert "No consumer groups match the filter" in filtered.content.decode()


def test_group_detail_shows_partitions_and_refreshes(
    client: Client, admin_user: Any, lagging: Any
) -> None:
    topic, group, _ = lagging
    client.force_login(admin_user)
    page = client.get(f"/clusters/local/groups/{group}/").content.decode()
    assert "Lag per partition" in page
    assert topic in page
    assert "No active members" in page
    assert 'hx-trigger="every 5s"' in page
    fragment = client.get(f"/clusters/local/groups/{group}/?part=lag", HTTP_HX_REQUEST="true")
    body = fragment.content.decode()
    assert "<html" not in body
    assert "lag-table" in body
    table = body[body.index('id="lag-table"') :]
    cells = re.findall(r"<td class=\"num\">(.*?)</td>", table)
    assert cells[:3] == ["0", "10", "20"]  # partition, committed, log end


def test_reset_preview_then_apply_is_audited_and_tracked(
    client: Client, admin_user: Any, lagging: Any, on_cluster: Cluster
) -> None:
    topic, group, _ = lagging
    client.force_login(admin_user)
    preview = client.post(
        f"/clusters/local/groups/{group}/reset/",
        {"topic": topic, "mode": "shift", "value": "-4"},
        HTTP_HX_REQUEST="true",
    )
    body = preview.content.decode()
    assert "Preview: shift by -4" in body
    assert '<span title="4">4</span> records will be read again' in body
    # Previewing changed nothing yet.
    assert kg.committed_offsets(h.cluster(on_cluster.bootstrap), [group])[group] == {(topic, 0): 10}
    signed = re.search(r'name="plan" value="([^"]+)"', body).group(1)  # type: ignore[union-attr]

    applied = client.post(f"/clusters/local/groups/{group}/reset/apply/", {"plan": signed})

    assert applied.status_code == 302
    assert kg.committed_offsets(h.cluster(on_cluster.bootstrap), [group])[group] == {(topic, 0): 6}
    entry = AuditEntry.objects.get(action="group.reset_offsets", target=f"group:{group}")
    assert entry.before == {f"{topic}[0]": 10}
    assert entry.after == {f"{topic}[0]": 6}
    assert entry.username == "admin"
    record = ResetRecord.objects.get(group=group)
    assert record.lag_at_reset == 14
    # The group reads 7 of the 14 records: the page shows half the replay done.
    h.consume_to(on_cluster.bootstrap, group, topic, {0: 13})
    page = client.get(f"/clusters/local/groups/{group}/").content.decode()
    assert "Replay progress" in page
    assert "(<strong>50%</strong>)" in page


def test_apply_is_refused_while_consumers_run(
    client: Client, admin_user: Any, lagging: Any, on_cluster: Cluster
) -> None:
    topic, group, _ = lagging
    client.force_login(admin_user)
    preview = client.post(
        f"/clusters/local/groups/{group}/reset/", {"mode": "earliest"}, HTTP_HX_REQUEST="true"
    )
    signed = re.search(r'name="plan" value="([^"]+)"', preview.content.decode()).group(1)  # type: ignore[union-attr]
    member = h.Member(on_cluster.bootstrap, group, topic)
    try:
        refused = client.post(f"/clusters/local/groups/{group}/reset/apply/", {"plan": signed})
    finally:
        member.close()
    assert refused.status_code == 200
    assert "<h1>Reset offsets of" in refused.content.decode()  # a whole page, not a fragment
    assert "Not applied" in refused.content.decode()
    assert "1 active member" in refused.content.decode()
    assert not AuditEntry.objects.filter(action="group.reset_offsets").exists()


def test_bad_reset_input_and_tampered_previews_get_readable_messages(
    client: Client, admin_user: Any, lagging: Any
) -> None:
    topic, group, _ = lagging
    client.force_login(admin_user)
    url = f"/clusters/local/groups/{group}/reset/"
    for data, message in [
        ({"mode": "duration", "value": "banana"}, "is not a duration"),
        ({"mode": "offset", "value": "ten"}, "is not a whole number"),
        ({"mode": "timestamp", "value": "yesterday"}, "is not a date"),
        ({"mode": "earliest", "partitions": "0,x"}, "is not a partition list"),
        ({"mode": "earliest", "partitions": "0"}, "Choose a topic to pick partitions"),
        ({"mode": "earliest", "topic": topic, "partitions": "3"}, "there is no partition 3"),
        ({"mode": "teleport"}, "Choose how to reset"),
    ]:
        response = client.post(url, data, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        assert message in response.content.decode(), data
    tampered = client.post(f"{url}apply/", {"plan": "x:y:z"})
    assert "The preview was not recognised" in tampered.content.decode()


def test_viewer_may_preview_but_not_apply(client: Client, viewer_user: Any, lagging: Any) -> None:
    _, group, _ = lagging
    client.force_login(viewer_user)
    preview = client.post(
        f"/clusters/local/groups/{group}/reset/", {"mode": "earliest"}, HTTP_HX_REQUEST="true"
    )
    assert "only the team owning these topics" in preview.content.decode()
    assert 'name="plan"' not in preview.content.decode()
    assert client.post(f"/clusters/local/groups/{group}/delete/").status_code == 403
    alert = client.post(
        f"/clusters/local/groups/{group}/alert/",
        {"max_lag_messages": "1", "webhook_url": "http://127.0.0.1:1/"},
    )
    assert alert.status_code == 403
    assert not LagAlert.objects.exists()


def test_alert_settings_are_saved_and_audited(
    client: Client, admin_user: Any, lagging: Any
) -> None:
    _, group, _ = lagging
    client.force_login(admin_user)
    url = f"/clusters/local/groups/{group}/alert/"
    client.post(url, {"max_lag_messages": "abc"})
    assert not LagAlert.objects.exists()
    client.post(url, {"max_lag_messages": "5", "max_lag_minutes": "10", "webhook_url": ""})
    alert = LagAlert.objects.get(group=group)
    assert (alert.max_lag_messages, alert.max_lag_seconds) == (5, 600)
    assert AuditEntry.objects.filter(action="lag_alert.configure").count() == 1


def test_topic_page_fragment_lists_consuming_groups(
    client: Client, admin_user: Any, lagging: Any
) -> None:
    topic, group, _ = lagging
    client.force_login(admin_user)
    topic_page = client.get(f"/clusters/local/topics/{topic}/").content.decode()
    assert f'hx-get="/clusters/local/topics/{topic}/consumers/"' in topic_page
    body = client.get(f"/clusters/local/topics/{topic}/consumers/").content.decode()
    assert group in body
    assert "Who reads this topic" in body


def test_unknown_cluster_is_404(client: Client, admin_user: Any) -> None:
    client.force_login(admin_user)
    assert client.get("/clusters/nowhere/groups/").status_code == 404
    assert client.get("/clusters/nowhere/groups/g/").status_code == 404


@override_settings(ODRADEK_LOCAL_BOOTSTRAP="127.0.0.1:1", ODRADEK_CLUSTER_TIMEOUT=1)
def test_unreachable_cluster_shows_a_banner(client: Client, admin_user: Any) -> None:
    client.force_login(admin_user)
    response = client.get("/clusters/local/groups/")
    assert response.status_code == 200
    assert "is unreachable" in response.content.decode()


def test_many_partitions_are_paged_most_lagging_first(
    client: Client, admin_user: Any, on_cluster: Cluster
) -> None:
    topic = h.make_topic(on_cluster.bootstrap, partitions=120)
    now = int(time.time() * 1000)
    for p in (7, 99):
        h.produce(on_cluster.bootstrap, topic, p, [now] * (3 if p == 7 else 5))
    group = h.unique("grp-many")
    h.consume_to(on_cluster.bootstrap, group, topic, dict.fromkeys(range(120), 0) | {7: 1, 99: 1})
    kg.alter_offsets(
        h.cluster(on_cluster.bootstrap),
        group,
        {(topic, p): 0 for p in range(120) if p not in (7, 99)},
    )
    client.force_login(admin_user)
    body = client.get(f"/clusters/local/groups/{group}/?part=lag", HTTP_HX_REQUEST="true")
    text = body.content.decode()
    assert 'id="lag-table"' in text, text[:400]  # shows the cluster error if any
    table = text[text.index('id="lag-table"') :]
    partitions = re.findall(r"<tr>\s*<td>[^<]+</td>\s*<td class=\"num\">(\d+)</td>", table)
    assert partitions[:2] == ["99", "7"]  # lag 4, then lag 2
    assert len(partitions) == 100
    assert "partitions 1–100 of 120" in text
    assert "page 1 of 2" in text


def test_forget_topic_offsets_then_delete_group_are_audited(
    client: Client, admin_user: Any, lagging: Any, on_cluster: Cluster
) -> None:
    topic, group, _ = lagging
    other = h.make_topic(on_cluster.bootstrap, partitions=1)
    h.produce(on_cluster.bootstrap, other, 0, [int(time.time() * 1000)] * 2)
    h.consume_to(on_cluster.bootstrap, group, other, {0: 1})
    client.force_login(admin_user)
    base = f"/clusters/local/groups/{group}/"
    forgot = client.post(f"{base}delete-offsets/", {"topic": topic}, follow=True)
    assert f"no longer has offsets for {topic}" in forgot.content.decode()
    assert kg.committed_offsets(h.cluster(on_cluster.bootstrap), [group])[group] == {(other, 0): 1}
    entry = AuditEntry.objects.get(action="group.delete_offsets")
    assert entry.before == {f"{topic}[0]": 10}

    again = client.post(f"{base}delete-offsets/", {"topic": topic}, follow=True)
    assert "has no committed offsets for" in again.content.decode()

    deleted = client.post(f"{base}delete/", follow=True)
    assert f"Group {group} deleted." in deleted.content.decode()
    entry = AuditEntry.objects.get(action="group.delete", target=f"group:{group}")
    assert entry.before == {f"{other}[0]": 1}
    assert group not in {g.group_id for g in kg.list_groups(h.cluster(on_cluster.bootstrap))}


def test_unknown_group_page_says_so(client: Client, admin_user: Any, on_cluster: Cluster) -> None:
    client.force_login(admin_user)
    response = client.get(f"/clusters/local/groups/{h.unique('grp-none')}/")
    assert response.status_code == 200
    assert "it does not exist, or it was deleted" in response.content.decode()
