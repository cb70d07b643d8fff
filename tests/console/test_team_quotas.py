"""Team quotas on every path a member can change a topic by, against both real clusters:
the per-config editor (page and htmx), the retention page, adding partitions and creation
with a byte budget counted as what topics may grow to. Each refusal is tried as the
member, reads as a sentence, and leaves the cluster and the audit log as they were; an
admin makes the same changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from console.kafka import admin
from console.kafka.clusters import local_cluster
from console.models import AuditEntry, Team, TopicRequest
from tests.console.topics_helpers import console_on, make_topic, unique

pytestmark = pytest.mark.django_db
DAY = 86_400_000
MB = 1_000_000
WATCHED = ("retention.ms", "retention.bytes", "max.message.bytes", "segment.ms", "cleanup.policy")


@pytest.fixture
def on_cluster(cluster: Any) -> Any:
    with console_on(cluster.bootstrap):
        yield cluster


@pytest.fixture
def team(django_user_model: Any, on_cluster: Any) -> tuple[Team, Any, str]:
    """A team with a 100 MB budget and its topic `orders`: 2 partitions × 10 MB."""
    prefix = unique("quota") + "."
    team = Team.objects.create(
        name=prefix,
        group=Group.objects.create(name=f"team:{prefix}"),
        topic_prefix=prefix,
        max_partitions=3,
        max_retention_ms=7 * DAY,
        max_total_bytes=100 * MB,
    )
    member = django_user_model.objects.create_user("member", "", "member-pass-123")
    member.groups.add(team.group)
    topic = prefix + "orders"
    make_topic(
        on_cluster.bootstrap,
        topic,
        partitions=2,
        **{"retention.ms": str(DAY), "retention.bytes": str(10 * MB)},
    )
    return team, member, topic


def _configs(topic: str) -> dict[str, str | None]:
    items = admin.describe_topic_configs(local_cluster(), topic)
    return {c.name: c.value for c in items if c.name in WATCHED}


def _partitions(topic: str) -> int:
    return len(admin.partition_details(local_cluster(), topic).partitions)


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("retention.ms", "-1", "exceeds the team&#x27;s max retention (7 days)"),
        ("retention.bytes", "-1", "needs a size cap per partition"),
        ("retention.bytes", str(60 * MB), "over its byte budget"),
        ("max.message.bytes", str(10 * 1024 * 1024), "max.message.bytes for team topics"),
        ("segment.ms", "1", "segment.ms for team topics is at least"),
        ("cleanup.policy", "compact", "compacted-only topic has no size cap"),
    ],
)
def test_config_editor_refuses_members_outside_policy(
    client: Client, admin_user: Any, team: tuple[Team, Any, str], key: str, value: str, reason: str
) -> None:
    _, member, topic = team
    before = _configs(topic)
    url = f"/clusters/local/topics/{topic}/configs/{key}/"
    client.force_login(member)

    partial = client.post(url, {"value": value}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200  # htmx swaps the editor back in with the reason
    body = partial.content.decode()
    assert "<html" not in body
    assert f"{key} unchanged:" in body
    assert reason in body
    page = client.post(url, {"value": value}, follow=True)
    assert reason in page.content.decode()
    assert _configs(topic) == before
    assert not AuditEntry.objects.filter(action="topic.config").exists()

    client.force_login(admin_user)
    done = client.post(url, {"value": value})
    assert done.status_code == 302
    assert _configs(topic)[key] == value
    entry = AuditEntry.objects.get(action="topic.config", target=topic)
    assert (entry.username, entry.after[key]) == ("admin", value)


def test_config_editor_accepts_members_inside_policy_and_audits(
    client: Client, team: tuple[Team, Any, str]
) -> None:
    _, member, topic = team
    client.force_login(member)
    for key, value in [("retention.ms", str(7 * DAY)), ("segment.ms", str(DAY))]:
        response = client.post(f"/clusters/local/topics/{topic}/configs/{key}/", {"value": value})
        assert response.status_code == 302, key
        assert _configs(topic)[key] == value
    assert AuditEntry.objects.filter(action="topic.config", username="member").count() == 2


def test_retention_page_refuses_members_outside_policy(
    client: Client, admin_user: Any, team: tuple[Team, Any, str]
) -> None:
    _, member, topic = team
    before = _configs(topic)
    url = f"/clusters/local/retention/{topic}/"
    client.force_login(member)
    for form, reason in [
        ({"retention": "3 days"}, "needs a size cap per partition"),  # no cap means -1
        ({"retention": "3 days", "retention_size": "60 MB"}, "over its byte budget"),
        ({"retention": "forever", "retention_size": "1 MB"}, "max retention (7 days)"),
    ]:
        response = client.post(url, form, follow=True)
        text = response.content.decode()
        assert f"Retention of {topic} unchanged" in text, form
        assert reason in text, form
    assert _configs(topic) == before
    assert not AuditEntry.objects.exists()

    done = client.post(url, {"retention": "3 days", "retention_size": "40 MB"}, follow=True)
    assert "now keeps records for 3 days" in done.content.decode()
    assert _configs(topic)["retention.bytes"] == str(40 * MB)
    assert AuditEntry.objects.get(target=topic).username == "member"

    client.force_login(admin_user)
    client.post(url, {"retention": "forever"})
    assert _configs(topic)["retention.ms"] == "-1"


def test_adding_partitions_respects_count_and_budget(
    client: Client, admin_user: Any, team: tuple[Team, Any, str], on_cluster: Any
) -> None:
    team_row, member, topic = team
    # A neighbour that may grow to 80 MB, though it holds nothing yet: 100 MB in all.
    make_topic(
        on_cluster.bootstrap,
        team_row.topic_prefix + "audit",
        partitions=2,
        **{"retention.ms": str(DAY), "retention.bytes": str(40 * MB)},
    )
    url = f"/clusters/local/topics/{topic}/partitions/"
    client.force_login(member)
    too_many = client.post(url, {"total": "4"}, follow=True)
    assert "more than the team&#x27;s 3 per topic" in too_many.content.decode()
    over_budget = client.post(url, {"total": "3"}, follow=True)
    assert "over its byte budget" in over_budget.content.decode()
    assert _partitions(topic) == 2
    assert not AuditEntry.objects.exists()

    client.force_login(admin_user)
    assert client.post(url, {"total": "4"}).status_code == 302
    assert _partitions(topic) == 4
    assert AuditEntry.objects.get(action="topic.partitions").username == "admin"


def test_creation_counts_what_topics_may_grow_to(
    client: Client, team: tuple[Team, Any, str], on_cluster: Any
) -> None:
    team_row, member, _ = team
    make_topic(
        on_cluster.bootstrap,
        team_row.topic_prefix + "audit",
        partitions=2,
        **{"retention.ms": str(DAY), "retention.bytes": str(40 * MB)},
    )
    name = team_row.topic_prefix + "more"
    client.force_login(member)
    response = client.post(
        "/clusters/local/new-topic/",
        {"name": name, "partitions": 1, "retention_size": "1 MB", "cleanup_policy": "delete"},
        follow=True,
    )
    assert b"went to an admin" in response.content
    request = TopicRequest.objects.get(topic=name)
    assert request.violations == ["The size cap would take the team over its byte budget."]
    assert name not in admin.metadata(local_cluster()).topics


def test_a_narrower_teams_topics_do_not_count_against_the_budget(
    client: Client, team: tuple[Team, Any, str], on_cluster: Any
) -> None:
    team_row, member, topic = team
    sub = team_row.topic_prefix + "sub."
    Team.objects.create(name=sub, group=Group.objects.create(name=f"team:{sub}"), topic_prefix=sub)
    make_topic(on_cluster.bootstrap, sub + "raw")  # no size cap: unbounded, but not ours
    client.force_login(member)
    done = client.post(
        f"/clusters/local/retention/{topic}/",
        {"retention": "3 days", "retention_size": "40 MB"},
        follow=True,
    )
    assert "now keeps records for 3 days" in done.content.decode()
