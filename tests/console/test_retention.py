"""Retention: the arithmetic in plain words (`assess`), and the page and its edit action
against both real clusters."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from console.clusters import local_cluster
from console.kafka import admin
from console.kafka.admin import PartitionInfo, TopicInfo
from console.models import AuditEntry, Team
from console.views.retention import assess
from tests.clusters import cluster_or_three_nodes  # noqa: F401 (this module's `cluster`)
from tests.console.topics_helpers import console_on, make_topic, produce, unique

DAY = 86_400_000
NOW = 1_800_000_000_000


def _topic(
    size: int, oldest_age_ms: int | None, partitions: int = 1, start: int = 0, **configs: str
) -> TopicInfo:
    parts = [
        PartitionInfo(
            partition=i,
            leader=0,
            start=start,
            end=start + 100,
            size=size // partitions,
            oldest_ts=None if oldest_age_ms is None else NOW - oldest_age_ms,
            newest_ts=NOW,
        )
        for i in range(partitions)
    ]
    base = {"retention.ms": str(7 * DAY), "retention.bytes": "-1", "cleanup.policy": "delete"}
    return TopicInfo("t", parts, {**base, **configs})


def test_projection_scales_history_held_to_configured_retention() -> None:
    a = assess(_topic(size=2_000_000, oldest_age_ms=2 * DAY), None, NOW)
    assert a.covers_ms == 2 * DAY
    assert a.rate_bps == pytest.approx(2_000_000 / (2 * 86_400))
    assert a.projected_bytes == pytest.approx(7_000_000, rel=1e-6)
    assert a.warnings == []


def test_size_cap_limits_projection_and_warns_of_short_history() -> None:
    # 1 MB/day into 2 partitions capped at 1 MB each: 2 MB holds 2 days of the 7 configured.
    t = _topic(size=1_000_000, oldest_age_ms=DAY, partitions=2, **{"retention.bytes": "1000000"})
    a = assess(t, None, NOW)
    assert a.projected_bytes == 2_000_000
    assert a.warnings == ["The size cap will keep only about 2 days of the configured 7 days."]


def test_forever_without_cap_is_unbounded() -> None:
    a = assess(_topic(size=5000, oldest_age_ms=DAY, **{"retention.ms": "-1"}), None, NOW)
    assert a.unbounded
    assert a.projected_bytes is None
    assert "grows without bound" in a.warnings[0]


def test_team_budget_warning() -> None:
    team = Team(name="pay", topic_prefix="pay.", max_total_bytes=5_000_000)
    a = assess(_topic(size=2_000_000, oldest_age_ms=2 * DAY), team, NOW)
    assert a.warnings == ["Will grow to about 7.0 MB, over the pay budget of 5.0 MB."]


def test_less_history_than_configured_after_deletion() -> None:
    a = assess(_topic(size=1000, oldest_age_ms=DAY, start=50), None, NOW)
    assert a.warnings == [
        "Holds 1 day of history, less than the configured 7 days: older records were already removed."
    ]
    # A young topic that never lost a record is not warned about.
    assert assess(_topic(size=1000, oldest_age_ms=DAY), None, NOW).warnings == []


def test_empty_and_young_topics_project_nothing() -> None:
    empty = assess(_topic(size=0, oldest_age_ms=None), None, NOW)
    assert (empty.covers_ms, empty.rate_bps, empty.projected_bytes) == (None, None, None)
    young = assess(_topic(size=500, oldest_age_ms=5_000), None, NOW)
    assert young.rate_bps is None


def test_compacted_topic_projects_its_current_size() -> None:
    a = assess(_topic(size=4000, oldest_age_ms=DAY, **{"cleanup.policy": "compact"}), None, NOW)
    assert a.projected_bytes == 4000
    assert a.warnings == []


# ---------------------------------------------------------------- against real clusters


@pytest.fixture
def on_cluster(cluster: Any) -> Any:
    with console_on(cluster.bootstrap):
        yield cluster


@pytest.mark.django_db
def test_page_shows_history_held_and_projection(
    client: Client, admin_user: Any, on_cluster: Any
) -> None:
    name = unique("ret-")
    make_topic(on_cluster.bootstrap, name, partitions=1)
    two_days_ago = int(time.time() * 1000) - 2 * DAY - 60_000
    produce(on_cluster.bootstrap, name, 20, ts=two_days_ago)
    client.force_login(admin_user)
    response = client.get(f"/clusters/local/retention/?q={name}")
    assert response.status_code == 200
    row = next(r for r in response.context["page"].object_list if r.topic.name == name)
    assert row.covers_ms is not None
    assert 2 * DAY <= row.covers_ms < 2 * DAY + 3_600_000
    assert row.projected_bytes == pytest.approx(row.topic.size * 7 * DAY / row.covers_ms, rel=0.01)
    assert b"covers <span" in response.content
    assert b"2 days" in response.content
    assert b"kB/day</span>" in response.content  # ~2 kB over 2 days


@pytest.mark.django_db
def test_edit_retention_from_the_page(client: Client, admin_user: Any, on_cluster: Any) -> None:
    name = unique("retedit-")
    make_topic(on_cluster.bootstrap, name)
    client.force_login(admin_user)
    response = client.post(
        f"/clusters/local/retention/{name}/", {"retention": "3 days", "retention_size": "50 MB"}
    )
    assert response.status_code == 302
    configs = {c.name: c.value for c in admin.describe_topic_configs(local_cluster(), name)}
    assert configs["retention.ms"] == str(3 * DAY)
    assert configs["retention.bytes"] == "50000000"
    entry = AuditEntry.objects.get(action="topic.config", target=name)
    assert entry.before["retention.ms"] == str(7 * DAY)
    assert entry.after == {"retention.ms": str(3 * DAY), "retention.bytes": "50000000"}
    page = client.get(f"/clusters/local/retention/?q={name}")
    assert b"3 days" in page.content


@pytest.mark.django_db
def test_bad_retention_input_is_readable(client: Client, admin_user: Any, on_cluster: Any) -> None:
    name = unique("retbad-")
    make_topic(on_cluster.bootstrap, name)
    client.force_login(admin_user)
    response = client.post(
        f"/clusters/local/retention/{name}/", {"retention": "a fortnight"}, follow=True
    )
    assert b"is not a duration" in response.content
    assert not AuditEntry.objects.filter(target=name).exists()


@pytest.mark.django_db
def test_member_cannot_exceed_team_max_retention(
    client: Client, django_user_model: Any, on_cluster: Any
) -> None:
    prefix = unique("q") + "."
    team = Team.objects.create(
        name="q",
        group=Group.objects.create(name="team:q"),
        topic_prefix=prefix,
        max_retention_ms=DAY,
    )
    member = django_user_model.objects.create_user("m", "", "m-pass-12345")
    member.groups.add(team.group)
    name = prefix + "events"
    make_topic(on_cluster.bootstrap, name)
    client.force_login(member)
    response = client.post(
        f"/clusters/local/retention/{name}/", {"retention": "forever"}, follow=True
    )
    assert b"max retention (1 day)" in response.content
    done = client.post(f"/clusters/local/retention/{name}/", {"retention": "12 h"}, follow=True)
    assert b"now keeps records for 12 h" in done.content, done.content.decode()[-3000:]
    configs = {c.name: c.value for c in admin.describe_topic_configs(local_cluster(), name)}
    assert configs["retention.ms"] == str(DAY // 2)
