"""Teams and self-service against both real clusters: creation inside the policy at once,
outside it as a request, approval and rejection by an admin, and who may change what."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from console.kafka import admin
from console.kafka.clusters import local_cluster
from console.models import AuditEntry, Team, TopicRequest
from console.permissions import can_change_topic, policy_violations, team_for_topic
from tests.console.topics_helpers import console_on, make_topic, unique

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_cluster(cluster: Any) -> Any:
    with console_on(cluster.bootstrap):
        yield cluster


def _team(name: str, prefix: str, **quotas: Any) -> Team:
    group = Group.objects.create(name=f"team:{name}")
    return Team.objects.create(name=name, group=group, topic_prefix=prefix, **quotas)


@pytest.fixture
def payments(django_user_model: Any) -> tuple[Team, Any]:
    team = _team("payments", unique("pay") + ".", max_partitions=3, max_retention_ms=7 * 86_400_000)
    member = django_user_model.objects.create_user("alice", "", "alice-pass-123")
    member.groups.add(team.group)
    return team, member


def _exists(topic: str) -> bool:
    return topic in admin.metadata(local_cluster()).topics


def test_member_creates_inside_policy_at_once(
    client: Client, payments: tuple[Team, Any], on_cluster: Any
) -> None:
    team, member = payments
    name = team.topic_prefix + "orders"
    client.force_login(member)
    response = client.post(
        "/clusters/local/new-topic/",
        {"name": name, "partitions": 3, "retention": "3 days", "cleanup_policy": "delete"},
    )
    assert response["Location"] == f"/clusters/local/topics/{name}/"
    assert _exists(name)
    assert not TopicRequest.objects.exists()
    assert AuditEntry.objects.get(action="topic.create", target=name).username == "alice"


def test_member_gets_team_max_retention_by_default(
    client: Client, payments: tuple[Team, Any], on_cluster: Any
) -> None:
    team, member = payments
    name = team.topic_prefix + "defaults"
    client.force_login(member)
    client.post(
        "/clusters/local/new-topic/", {"name": name, "partitions": 1, "cleanup_policy": "delete"}
    )
    configs = {c.name: c.value for c in admin.describe_topic_configs(local_cluster(), name)}
    assert configs["retention.ms"] == str(7 * 86_400_000)


def test_outside_policy_becomes_request_then_admin_approves(
    client: Client, admin_user: Any, payments: tuple[Team, Any], on_cluster: Any
) -> None:
    team, member = payments
    name = team.topic_prefix + "big"
    client.force_login(member)
    response = client.post(
        "/clusters/local/new-topic/",
        {"name": name, "partitions": 8, "cleanup_policy": "delete", "note": "black friday"},
        follow=True,
    )
    assert b"went to an admin" in response.content
    req = TopicRequest.objects.get(topic=name)
    assert req.status == TopicRequest.PENDING
    assert req.violations == ["8 partitions is more than the team's 3 per topic."]
    assert not _exists(name)
    # The member cannot approve their own request.
    assert client.post(f"/teams/requests/{req.pk}/approve/").status_code == 403
    client.force_login(admin_user)
    page = client.get("/teams/")
    assert name.encode() in page.content
    client.post(f"/teams/requests/{req.pk}/approve/")
    req.refresh_from_db()
    assert req.status == TopicRequest.APPROVED
    assert req.decided_by == admin_user
    assert len(admin.partition_details(local_cluster(), name).partitions) == 8
    actions = set(AuditEntry.objects.filter(target=name).values_list("action", flat=True))
    assert actions == {"request.create", "request.approve", "topic.create"}
    # A second approval is refused, not a second creation attempt.
    response = client.post(f"/teams/requests/{req.pk}/approve/", follow=True)
    assert b"already approved" in response.content


def test_reject_needs_a_reason_and_creates_nothing(
    client: Client, admin_user: Any, payments: tuple[Team, Any], on_cluster: Any
) -> None:
    team, member = payments
    req = TopicRequest.objects.create(
        cluster="local", team=team, requested_by=member, topic="elsewhere", partitions=1
    )
    client.force_login(admin_user)
    response = client.post(f"/teams/requests/{req.pk}/reject/", {"reason": ""}, follow=True)
    assert b"Say why" in response.content
    client.post(f"/teams/requests/{req.pk}/reject/", {"reason": "use payments. prefix"})
    req.refresh_from_db()
    assert (req.status, req.decision_reason) == (TopicRequest.REJECTED, "use payments. prefix")
    assert not _exists("elsewhere")
    assert AuditEntry.objects.get(action="request.reject").detail == "use payments. prefix"
    client.force_login(member)
    assert b"use payments. prefix" in client.get("/teams/").content


def test_member_cannot_delete_another_teams_topic(
    client: Client, payments: tuple[Team, Any], on_cluster: Any
) -> None:
    _, member = payments
    other = _team("search", unique("srch") + ".")
    name = other.topic_prefix + "index"
    make_topic(on_cluster.bootstrap, name)
    client.force_login(member)
    response = client.post(f"/clusters/local/topics/{name}/delete/", {"confirm": name})
    assert response.status_code == 403
    assert b"Only" in response.content
    assert _exists(name)
    assert (
        client.post(
            f"/clusters/local/topics/{name}/delete-records/", {"partition": 0, "offset": 0}
        ).status_code
        == 403
    )


def test_member_changes_own_topic(
    client: Client, payments: tuple[Team, Any], on_cluster: Any
) -> None:
    team, member = payments
    name = team.topic_prefix + "mine"
    make_topic(on_cluster.bootstrap, name)
    client.force_login(member)
    response = client.post(
        f"/clusters/local/topics/{name}/configs/retention.ms/", {"value": "60000"}
    )
    assert response.status_code == 302
    detail = client.get(f"/clusters/local/topics/{name}/")
    assert detail.context["can_change"] is True
    assert b"Delete topic" in detail.content


def test_viewer_cannot_alter_configs_or_create(
    client: Client, viewer_user: Any, on_cluster: Any
) -> None:
    name = unique("ro-")
    make_topic(on_cluster.bootstrap, name)
    client.force_login(viewer_user)
    detail = client.get(f"/clusters/local/topics/{name}/")
    assert detail.status_code == 200
    assert b"Delete topic" not in detail.content
    response = client.post(
        f"/clusters/local/topics/{name}/configs/retention.ms/", {"value": "1000"}
    )
    assert response.status_code == 403
    configs = {c.name: c for c in admin.describe_topic_configs(local_cluster(), name)}
    assert configs["retention.ms"].source != "override"
    assert (
        client.post(f"/clusters/local/retention/{name}/", {"retention": "1 h"}).status_code == 403
    )
    assert client.get("/clusters/local/new-topic/").status_code == 403


def test_admin_manages_teams(client: Client, admin_user: Any, viewer_user: Any) -> None:
    client.force_login(admin_user)
    response = client.post(
        "/teams/new/",
        {
            "name": "ml",
            "topic_prefix": "ml.",
            "max_partitions": 6,
            "max_retention": "30 days",
            "max_total": "10 GB",
            "members": [viewer_user.pk],
        },
    )
    assert response.status_code == 302
    team = Team.objects.get(name="ml")
    assert (team.max_retention_ms, team.max_total_bytes) == (30 * 86_400_000, 10 * 1000**3)
    assert team.is_member(viewer_user)
    assert AuditEntry.objects.get(action="team.create").after["members"] == ["viewer"]
    bad = client.post(
        "/teams/new/", {"name": "x", "topic_prefix": "no spaces", "max_partitions": 1}
    )
    assert bad.status_code == 400
    assert b"A prefix uses only" in bad.content
    client.force_login(viewer_user)
    assert client.post("/teams/new/", {"name": "y", "topic_prefix": "y."}).status_code == 403


def test_policy_rules_in_words() -> None:
    from console.quota import Shape

    team = Team(
        name="t", topic_prefix="t.", max_partitions=4, max_retention_ms=1000, max_total_bytes=10_000
    )
    others = [Shape("t.old", 2, 1000, 2500)]  # may grow to 5,000 bytes, whatever it holds now
    assert policy_violations(team, "t.a", 2, 1000, 1000, others=others) == []
    problems = policy_violations(team, "x.a", 5, -1, None, others=[])
    assert len(problems) == 4
    assert "prefix" in problems[0]
    assert policy_violations(team, "t.a", 2, 1000, 3000, others=others) == [
        "The size cap would take the team over its byte budget."
    ]


def test_longest_prefix_owns_the_topic(admin_user: Any) -> None:
    broad = _team("a", "app.")
    narrow = _team("b", "app.billing.")
    assert team_for_topic("app.billing.x") == narrow
    assert team_for_topic("app.x") == broad
    assert team_for_topic("other") is None
    assert can_change_topic(admin_user, "local", "other")


def test_edit_team_form_shows_quotas_as_typed(client: Client, admin_user: Any) -> None:
    team = _team("ops", "ops.", max_retention_ms=14 * 86_400_000, max_total_bytes=5 * 1000**3)
    client.force_login(admin_user)
    page = client.get(f"/teams/{team.pk}/")
    assert b'value="14 days"' in page.content
    assert b'value="5 GB"' in page.content
