"""The audit trail: `audit.record` and the filterable audit page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from console import audit
from console.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_record_keeps_who_what_before_after(admin_user: Any) -> None:
    entry = audit.record(
        admin_user, "topic.config", "local", "orders", before={"a": 1}, after={"a": 2}, detail="x"
    )
    entry.refresh_from_db()
    assert (entry.user, entry.username, entry.action) == (admin_user, "admin", "topic.config")
    assert (entry.cluster, entry.target, entry.before, entry.after) == (
        "local",
        "orders",
        {"a": 1},
        {"a": 2},
    )
    assert entry.at is not None


def test_record_survives_user_deletion(viewer_user: Any) -> None:
    entry = audit.record(viewer_user, "topic.create", "local", "t")
    viewer_user.delete()
    entry.refresh_from_db()
    assert entry.user is None
    assert entry.username == "viewer"


def test_page_filters_by_action_user_cluster_and_target(
    client: Client, admin_user: Any, viewer_user: Any
) -> None:
    audit.record(admin_user, "topic.create", "local", "orders")
    audit.record(admin_user, "topic.delete", "prod", "orders-old")
    audit.record(viewer_user, "request.create", "local", "clicks")
    client.force_login(viewer_user)

    def targets(**params: str) -> list[str]:
        response = client.get("/audit/", params)
        assert response.status_code == 200
        return [e.target for e in response.context["page"].object_list]

    assert targets() == ["clicks", "orders-old", "orders"]  # newest first
    assert targets(action="topic.delete") == ["orders-old"]
    assert targets(user="viewer") == ["clicks"]
    assert targets(cluster="local") == ["clicks", "orders"]
    assert targets(q="order") == ["orders-old", "orders"]
    assert targets(q="nothing-like-this") == []


def test_page_shows_before_and_after_and_htmx_fragment(client: Client, admin_user: Any) -> None:
    audit.record(admin_user, "topic.config", "local", "orders", before={"retention.ms": "1"})
    client.force_login(admin_user)
    page = client.get("/audit/")
    assert b"retention.ms" in page.content
    assert b"Every change" in page.content
    fragment = client.get("/audit/", {"action": "topic.config"}, HTTP_HX_REQUEST="true")
    assert b"<html" not in fragment.content
    assert b"orders" in fragment.content


def test_audit_page_paginates(client: Client, admin_user: Any) -> None:
    AuditEntry.objects.bulk_create(
        AuditEntry(username="admin", action="topic.create", cluster="local", target=f"t{i}")
        for i in range(60)
    )
    client.force_login(admin_user)
    first = client.get("/audit/")
    assert len(first.context["page"].object_list) == 50
    assert b"older" in first.content
    second = client.get("/audit/", {"page": 2})
    assert len(second.context["page"].object_list) == 10


def test_admin_site_lists_entries_but_cannot_change_them(client: Client, admin_user: Any) -> None:
    entry = audit.record(admin_user, "topic.create", "local", "orders")
    client.force_login(admin_user)
    assert b"orders" in client.get("/admin/console/auditentry/").content
    assert (
        client.post(f"/admin/console/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
