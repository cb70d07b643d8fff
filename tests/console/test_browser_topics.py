"""Self-service through Chromium: a team member creates a topic inside the team policy, asks
for one outside it, and an admin approves the request; on both real clusters."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group

from console.clusters import local_cluster
from console.kafka import admin
from console.models import Team, TopicRequest
from tests.clusters import cluster_or_three_nodes  # noqa: F401 (this module's `cluster`)
from tests.console.conftest import login
from tests.console.topics_helpers import console_on, unique

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_member_creates_inside_policy_requests_outside_admin_approves(
    live_server: Any, page: Any, admin_user: Any, django_user_model: Any, cluster: Any
) -> None:
    prefix = unique("pay") + "."
    team = Team.objects.create(
        name="Payments",
        group=Group.objects.create(name="team:payments"),
        topic_prefix=prefix,
        max_partitions=3,
    )
    member = django_user_model.objects.create_user("alice", "", "alice-pass-123")
    member.groups.add(team.group)
    base = live_server.url
    inside, outside = prefix + "orders", prefix + "clicks"

    with console_on(cluster.bootstrap):
        login(page, base, "alice", "alice-pass-123")
        page.wait_for_url(f"{base}/clusters/local/")
        page.goto(f"{base}/clusters/local/topics/")
        page.get_by_role("link", name="New topic").click()
        # The name is checked as it is typed (htmx), with Kafka's rules.
        page.fill("#id_name", prefix + "bad name")
        page.locator("#name-check .error").wait_for()
        assert "Only letters, digits" in page.locator("#name-check").inner_text()
        page.fill("#id_name", inside)
        page.locator("#name-check .ok").wait_for()
        assert "owned by team Payments" in page.locator("#name-check").inner_text()
        page.fill("#id_partitions", "2")
        page.fill("#id_retention", "2 days")
        page.get_by_role("button", name="Create topic").click()
        page.wait_for_url(f"{base}/clusters/local/topics/{inside}/")
        assert page.locator("h1").inner_text() == inside
        assert page.locator("table.partitions tbody tr").count() == 2

        # Outside the policy: 10 partitions is more than 3, so it becomes a request.
        page.goto(f"{base}/clusters/local/new-topic/")
        page.fill("#id_name", outside)
        page.fill("#id_partitions", "10")
        page.fill("#id_note", "load test next week")
        page.get_by_role("button", name="Create topic").click()
        page.wait_for_url(f"{base}/teams/")
        assert "went to an admin" in page.locator(".messages").inner_text()
        assert "10 partitions is more than the team's 3" in page.locator(".request").inner_text()
        assert outside not in admin.metadata(local_cluster()).topics

        page.get_by_role("button", name="Log out").click()
        login(page, base, "admin", "admin-pass-123")
        page.goto(f"{base}/teams/")
        request = page.locator(".request", has_text=outside)
        assert "load test next week" in request.inner_text()
        request.get_by_role("button", name="Approve and create").click()
        page.wait_for_url(f"{base}/teams/")
        assert f"Approved: topic {outside} created." in page.locator(".messages").inner_text()
        assert page.locator(".request").count() == 0

        details = admin.partition_details(local_cluster(), outside)
        assert len(details.partitions) == 10
        assert TopicRequest.objects.get(topic=outside).status == TopicRequest.APPROVED

        page.goto(f"{base}/audit/")
        audit_text = page.locator("table.audit").inner_text()
        for action in ("topic.create", "request.create", "request.approve"):
            assert action in audit_text


def test_admin_edits_a_config_inline(
    live_server: Any, page: Any, admin_user: Any, cluster: Any
) -> None:
    from tests.console.topics_helpers import make_topic

    name = unique("inline-")
    make_topic(cluster.bootstrap, name)
    base = live_server.url
    with console_on(cluster.bootstrap):
        login(page, base, "admin", "admin-pass-123")
        page.wait_for_url(f"{base}/clusters/local/")
        page.goto(f"{base}/clusters/local/topics/{name}/")
        row = page.locator("#config-retentionms")
        assert "default" in row.inner_text()
        row.get_by_role("button", name="Edit").click()
        page.fill("#config-retentionms input[name=value]", "shred")
        page.locator("#config-retentionms").get_by_role("button", name="Save").click()
        page.locator("#config-retentionms .error").wait_for()
        page.fill("#config-retentionms input[name=value]", "86400000")
        page.locator("#config-retentionms").get_by_role("button", name="Save").click()
        page.locator("#config-retentionms .tag-override").wait_for()
        # Shown in words, the exact value on hover.
        assert "1 day" in page.locator("#config-retentionms").inner_text()
        assert page.locator("#config-retentionms span[title='86400000']").count() == 1
