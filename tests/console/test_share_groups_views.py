"""The share-group pages through Django's test client, against both clusters: the list's
backlog, the detail page's start offsets, records waiting and oldest unacknowledged age,
the reset preview → apply flow (audited, refused while a member reads), deleting a
share group's offsets, editing its configs with validation, the topic page's "who reads
this topic" and the lag sampler with its alerts.

Groups are brought to a known start offset by confluent-kafka's ShareConsumer.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from confluent_kafka import AcknowledgeType
from django.test import Client, override_settings

from console.kafka import shares
from console.kafka.config import bare
from console.kafka.errors import NotFound
from console.lag import sampler
from console.lag.models import GroupSample, LagAlert, ResetRecord
from console.models import AuditEntry
from tests.clusters import (
    Cluster,
    cluster_or_three_nodes,  # noqa: F401 (this module's `cluster`)
)
from tests.console import groups_helpers as h
from tests.console import share_helpers as s

pytestmark = pytest.mark.django_db
MINUTE = 60_000
ACCEPT, RELEASE, REJECT = AcknowledgeType.ACCEPT, AcknowledgeType.RELEASE, AcknowledgeType.REJECT


@pytest.fixture
def on_cluster(cluster: Cluster) -> Iterator[Cluster]:
    with override_settings(ODRADEK_LOCAL_BOOTSTRAP=cluster.bootstrap, ODRADEK_CLUSTER_TIMEOUT=10):
        yield cluster


@pytest.fixture
def waiting(on_cluster: Cluster) -> tuple[str, str]:
    """A share group at 10 in a 20-record topic whose records are 20..1 minutes old."""
    topic = h.make_topic(on_cluster.bootstrap, partitions=1)
    now = int(time.time() * 1000)
    h.produce(on_cluster.bootstrap, topic, 0, [now - (20 - i) * MINUTE for i in range(20)])
    group = s.unique_group()
    s.configure(on_cluster.bootstrap, group)
    s.consume_to(on_cluster.bootstrap, group, topic, 10)
    return topic, group


def _start(bootstrap: str, group: str, topic: str) -> int | None:
    found = shares.describe_one(h.cluster(bootstrap), group).starts.get((topic, 0))
    return found.start if found else None


def _signed(body: str) -> str:
    found = re.search(r'name="plan" value="([^"]+)"', body)
    assert found, body
    return found.group(1)


def test_list_and_detail_show_the_backlog(client: Client, admin_user: Any, waiting: Any) -> None:
    topic, group = waiting
    client.force_login(admin_user)
    page = client.get("/clusters/local/groups/").content.decode()
    table = page[page.index('id="share-groups"') :]
    row = table[table.index(group) :].split("</tr>")[0]
    assert f'href="/clusters/local/share-groups/{group}/"' in table
    assert 'title="10">10<' in row  # 10 records waiting
    assert re.search(r"1[01] min( \d+ s)?</span>", row)  # record 10 is 10 minutes old

    detail = client.get(f"/clusters/local/share-groups/{group}/").content.decode()
    assert f"Share group {group}" in detail
    assert "No active members" in detail
    assert 'hx-trigger="every 5s"' in detail
    assert "share.record.lock.duration.ms" in detail
    assert 'id="in-flight-note"' in detail
    fragment = client.get(
        f"/clusters/local/share-groups/{group}/?part=lag", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<html" not in fragment
    assert '<strong id="waiting-total">10</strong>' in fragment
    table = fragment[fragment.index('id="lag-table"') :]
    cells = re.findall(r"<td class=\"num\">(.*?)</td>", table)
    assert cells[:3] == ["0", "10", "20"]  # partition, start offset, log end
    assert f"/clusters/local/topics/{topic}/messages/?p=0&amp;start=offset&amp;at=10" in table


def test_reset_preview_then_apply_moves_the_start_and_is_audited(
    client: Client, admin_user: Any, waiting: Any, on_cluster: Cluster
) -> None:
    topic, group = waiting
    client.force_login(admin_user)
    url = f"/clusters/local/share-groups/{group}/reset/"
    form = client.get(url).content.decode()
    assert f'<option value="{topic}">' in form
    assert "group" not in re.findall(r'name="mode" value="(\w+)"', form)  # no copy mode
    preview = client.post(
        url, {"topic": topic, "mode": "duration", "value": "15 min 30 s"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Preview: start offset to 15 min 30 s ago" in preview
    assert '<span title="5">5</span> records will be delivered again' in preview
    assert _start(on_cluster.bootstrap, group, topic) == 10  # previewing changed nothing

    applied = client.post(f"{url}apply/", {"plan": _signed(preview)})

    assert applied.status_code == 302
    assert applied["Location"] == f"/clusters/local/share-groups/{group}/"
    assert _start(on_cluster.bootstrap, group, topic) == 5
    entry = AuditEntry.objects.get(action="share_group.reset_offsets", target=f"group:{group}")
    assert (entry.before, entry.after) == ({f"{topic}[0]": 10}, {f"{topic}[0]": 5})
    assert entry.username == "admin"
    assert ResetRecord.objects.get(group=group).lag_at_reset == 15
    # Back to the latest: nothing waits any more.
    latest = client.post(url, {"mode": "latest"}, HTTP_HX_REQUEST="true").content.decode()
    assert "15 will be skipped" in latest.replace('<span title="15">15</span>', "15")
    client.post(f"{url}apply/", {"plan": _signed(latest)})
    assert _start(on_cluster.bootstrap, group, topic) == 20


def test_reset_is_refused_while_a_member_reads(
    client: Client, admin_user: Any, waiting: Any, on_cluster: Cluster
) -> None:
    topic, group = waiting
    client.force_login(admin_user)
    url = f"/clusters/local/share-groups/{group}/reset/"
    preview = client.post(url, {"mode": "earliest"}, HTTP_HX_REQUEST="true").content.decode()
    reader = s.join(on_cluster.bootstrap, group, topic)
    try:
        form = client.get(url).content.decode()
        assert 'id="active-members"' in form
        refused = client.post(
            f"{url}apply/", {"plan": _signed(preview)}, HTTP_HX_REQUEST="true"
        ).content.decode()
        assert "Not applied: share group" in refused
        assert "has 1 active member" in refused
        assert "stop its share consumers first" in refused
        deleted = client.post(
            f"/clusters/local/share-groups/{group}/delete-offsets/", {"topic": topic}, follow=True
        ).content.decode()
        assert "Offsets not deleted: share group" in deleted
    finally:
        reader.close()
    assert not AuditEntry.objects.filter(target=f"group:{group}").exists()


def test_bad_input_and_tampered_previews_get_readable_messages(
    client: Client, admin_user: Any, waiting: Any
) -> None:
    topic, group = waiting
    client.force_login(admin_user)
    url = f"/clusters/local/share-groups/{group}/reset/"
    cases = [
        ({"mode": "group", "value": "other"}, "Choose how to reset: one of earliest"),
        ({"mode": "shift", "value": "-1"}, "Choose how to reset"),
        ({"mode": "duration", "value": "soon"}, "is not a duration"),
        ({"mode": "timestamp", "value": "yesterday-ish"}, ""),
        ({"topic": "no-such-topic", "mode": "earliest"}, "does not exist"),
        ({"topic": topic, "partitions": "7", "mode": "earliest"}, "there is no partition 7"),
    ]
    for data, message in cases:
        body = client.post(url, data, HTTP_HX_REQUEST="true").content.decode()
        assert 'class="error"' in body, data
        assert message in body, data
    assert "The preview was not recognised" in (
        client.post(f"{url}apply/", {"plan": "x:y:z"}).content.decode()
    )
    # A consumer-group preview (another salt) is no share-group preview.
    assert "The preview was not recognised" in (
        client.post(f"{url}apply/", {"plan": ""}).content.decode()
    )


def test_delete_offsets_forgets_the_topic_and_is_audited(
    client: Client, admin_user: Any, waiting: Any, on_cluster: Cluster
) -> None:
    topic, group = waiting
    client.force_login(admin_user)
    url = f"/clusters/local/share-groups/{group}/delete-offsets/"
    missing = client.post(url, {"topic": "not-read-here"}, follow=True).content.decode()
    assert "has no start offsets for" in missing
    done = client.post(url, {"topic": topic}, follow=True).content.decode()
    assert "no longer has state for" in done
    try:
        state = shares.describe_one(h.cluster(on_cluster.bootstrap), group)
        assert (topic, 0) not in state.starts
    except NotFound:
        pass  # a group with no state left may be gone altogether
    entry = AuditEntry.objects.get(action="share_group.delete_offsets")
    assert entry.before == {f"{topic}[0]": 10}


def test_configs_are_validated_changed_and_audited(
    client: Client, admin_user: Any, waiting: Any, on_cluster: Cluster
) -> None:
    _, group = waiting
    client.force_login(admin_user)
    url = f"/clusters/local/share-groups/{group}/configs/"
    form = {
        "share.auto.offset.reset": "earliest",
        "share.record.lock.duration.ms": "",
        "share.delivery.count.limit": "",
        "share.isolation.level": "",
    }
    bad = client.post(
        url, {**form, "share.delivery.count.limit": "many"}, follow=True
    ).content.decode()
    assert "share.delivery.count.limit is a positive whole number" in bad
    bad = client.post(url, {**form, "share.auto.offset.reset": "oldest"}, follow=True)
    assert "earliest, latest or by_duration" in bad.content.decode()
    # The broker judges its own bounds (Kafka's default maximum delivery limit is 10).
    beyond = client.post(
        url, {**form, "share.delivery.count.limit": "1000"}, follow=True
    ).content.decode()
    assert "Configs not changed:" in beyond
    assert not AuditEntry.objects.filter(action="share_group.configs").exists()

    ok = client.post(
        url,
        {**form, "share.record.lock.duration.ms": "20 s", "share.delivery.count.limit": "3"},
        follow=True,
    ).content.decode()

    assert "Configs of" in ok
    found = shares.configs(h.cluster(on_cluster.bootstrap), group)
    assert found["share.record.lock.duration.ms"].value == "20000"
    assert found["share.delivery.count.limit"].value == "3"
    assert found["share.delivery.count.limit"].source == "override"
    entry = AuditEntry.objects.get(action="share_group.configs")
    assert entry.after == {
        "share.delivery.count.limit": "3",
        "share.record.lock.duration.ms": "20000",
    }
    # An emptied field goes back to the broker's default.
    client.post(url, {**form, "share.record.lock.duration.ms": "20000"})
    found = shares.configs(h.cluster(on_cluster.bootstrap), group)
    assert found["share.delivery.count.limit"].source != "override"


def test_topic_page_lists_share_groups(client: Client, admin_user: Any, waiting: Any) -> None:
    topic, group = waiting
    client.force_login(admin_user)
    body = client.get(f"/clusters/local/topics/{topic}/consumers/").content.decode()
    row = body[body.index(group) :].split("</tr>")[0]
    assert "share group" in row
    assert 'title="10">10<' in row
    assert f'href="/clusters/local/share-groups/{group}/"' in body


def test_sampler_keeps_share_history_and_raises_alerts(
    client: Client, admin_user: Any, waiting: Any, on_cluster: Cluster
) -> None:
    _, group = waiting
    client.force_login(admin_user)
    client.post(
        f"/clusters/local/share-groups/{group}/alert/",
        {"max_lag_messages": "5", "webhook_url": ""},
    )
    assert LagAlert.objects.get(group=group).max_lag_messages == 5
    sampler.sample_cluster(bare(on_cluster.bootstrap, 5.0, "local"), datetime.now(UTC))

    sample = GroupSample.objects.get(cluster="local", group=group)
    assert (sample.lag, sample.committed_sum, sample.end_sum) == (10, 10, 20)
    alert = LagAlert.objects.get(group=group)
    assert alert.firing
    assert alert.last_lag == 10
    assert AuditEntry.objects.filter(action="lag_alert.raised", target=f"group:{group}").exists()
    page = client.get(f"/clusters/local/share-groups/{group}/").content.decode()
    assert "Backlog alert: " in page
    assert "Backlog over the last 24 hours" in page


def test_unknown_share_group_page_says_so(
    client: Client, admin_user: Any, on_cluster: Cluster
) -> None:
    client.force_login(admin_user)
    page = client.get("/clusters/local/share-groups/no-such-share-group/").content.decode()
    assert 'id="missing"' in page
    assert "There is no share group called" in page


def test_records_in_flight_where_the_cluster_persists_them(
    client: Client, admin_user: Any, on_cluster: Cluster
) -> None:
    """Accept 0, 1 and 5, reject 2 and 7, release the rest: the persisted state shows them
    by state, with 7 archived, on Kafka (its share-state topic) and on the bundled broker
    (ReadShareGroupState) alike."""
    topic = h.make_topic(on_cluster.bootstrap, partitions=1)
    h.produce(on_cluster.bootstrap, topic, 0, [int(time.time() * 1000)] * 10)
    group = s.unique_group("share-flight")
    s.configure(on_cluster.bootstrap, group)
    rule = {0: ACCEPT, 1: ACCEPT, 5: ACCEPT, 2: REJECT, 7: REJECT}
    s.acknowledge_each(on_cluster.bootstrap, group, topic, 10, lambda o: rule.get(o, RELEASE))
    # Odradek moves the start offset past 0-2 at once; Kafka on its next acquisition.
    start = s.wait_for_start(on_cluster.bootstrap, group, topic, None, lag=5).start
    client.force_login(admin_user)

    page = client.get(f"/clusters/local/share-groups/{group}/").content.decode()

    note = page[page.index('id="in-flight-note"') :].split("</p>")[0]
    # Kafka persists state in its topic; the bundled broker answers ReadShareGroupState.
    assert ("__share_group_state" in note) is on_cluster.is_kafka
    assert ("ReadShareGroupState" in note) is not on_cluster.is_kafka
    totals = page[page.index('id="in-flight-totals"') :].split("</dl>")[0]
    acknowledged, archived_n = (1, 1) if start == 3 else (3, 2)
    assert re.findall(r'title="(\d+)"', totals) == [str(acknowledged), "5", str(archived_n), "0"]
    archived = page[page.index('id="archived"') :].split("</ul>")[0]
    assert "offset 7, delivered 1 time" in archived
    assert f"/clusters/local/topics/{topic}/messages/?p=0&amp;start=offset&amp;at=7" in archived
    histogram = page[page.index('id="delivery-histogram"') :].split("</table>")[0]
    counts = re.findall(r'<td class="num">(\d+)</td><td class="num">(\d+)</td>', histogram)
    assert sum(int(n) for _, n in counts) == 10 - (start or 0)  # all delivered once or more
