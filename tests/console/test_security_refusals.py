"""Every path of the Users and ACLs pages refuses a viewer and a team member with 403,
pages, forms and htmx endpoints alike, before the cluster is asked anything (the `local`
cluster here is an address nothing listens on), and no audit entry is written.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client, override_settings

from console.models import AccessRequest, AuditEntry, ServiceAccount, Team

pytestmark = pytest.mark.django_db

ACL = {
    "principal": "User:x", "resource_type": "TOPIC", "pattern_type": "LITERAL",
    "resource_name": "t", "operation": "READ", "permission": "ALLOW", "host": "*",
}  # fmt: skip
PATHS = [
    ("get", "/clusters/local/users/", {}),
    ("post", "/clusters/local/users/new/", {"name": "u", "mechanisms": ["SCRAM-SHA-256"],
                                           "iterations": "4096"}),
    ("post", "/clusters/local/users/u/delete/", {}),
    ("get", "/clusters/local/acls/", {}),
    ("post", "/clusters/local/acls/new/", ACL),
    ("post", "/clusters/local/acls/delete/", ACL),
]  # fmt: skip


@override_settings(ODRADEK_LOCAL_BOOTSTRAP="127.0.0.1:1", ODRADEK_CLUSTER_TIMEOUT=1)
@pytest.mark.parametrize("who", ["viewer_user", "member_user"])
def test_every_security_path_refuses_non_admins(
    client: Client, who: str, request: pytest.FixtureRequest
) -> None:
    client.force_login(request.getfixturevalue(who))
    for method, url, data in PATHS:
        for htmx in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = getattr(client, method)(url, data, **htmx)
            assert response.status_code == 403, (method, url, htmx)
            assert b"Only administrators" in response.content
    nav = client.get("/teams/").context["nav_items"]
    assert "security" not in {item["key"] for item in nav}
    assert not AuditEntry.objects.exists()


def test_admins_see_the_security_navigation(client: Client, admin_user: Any) -> None:
    client.force_login(admin_user)
    nav = {item["key"]: item for item in client.get("/teams/").context["nav_items"]}
    assert nav["security"]["href"] == "/clusters/local/users/"


def test_an_anonymous_visitor_is_sent_to_log_in(client: Client) -> None:
    for method, url, data in PATHS:
        response = getattr(client, method)(url, data)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


@override_settings(ODRADEK_LOCAL_BOOTSTRAP="127.0.0.1:1", ODRADEK_CLUSTER_TIMEOUT=1)
@pytest.mark.parametrize("who", ["viewer_user", "member_user"])
def test_another_teams_accounts_refuse_non_members(
    client: Client, who: str, request: pytest.FixtureRequest, django_user_model: Any
) -> None:
    user = request.getfixturevalue(who)
    group = Group.objects.create(name="team:billing")
    billing = Team.objects.create(name="billing", group=group, topic_prefix="billing.")
    account = ServiceAccount.objects.create(
        cluster="local", team=billing, name="billing.app", access="both"
    )
    asked = AccessRequest.objects.create(
        account=account, resource_type="TOPIC", pattern_type="LITERAL",
        resource_name="payments.x", access="read",
    )  # fmt: skip
    client.force_login(user)
    paths = [
        ("get", f"/clusters/local/teams/{billing.pk}/accounts/", {}),
        ("post", f"/clusters/local/teams/{billing.pk}/accounts/", {"name": "x", "access": "read"}),
        ("post", f"/clusters/local/accounts/{account.pk}/rotate/", {}),
        ("post", f"/clusters/local/accounts/{account.pk}/delete/", {}),
        ("post", f"/clusters/local/accounts/{account.pk}/access/", {
            "resource_type": "TOPIC", "pattern_type": "PREFIXED", "resource_name": "billing.",
            "access": "read"}),
        ("post", f"/teams/access-requests/{asked.pk}/approve/", {}),
        ("post", f"/teams/access-requests/{asked.pk}/reject/", {"reason": "no"}),
    ]  # fmt: skip
    for method, url, data in paths:
        for htmx in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = getattr(client, method)(url, data, **htmx)
            assert response.status_code == 403, (method, url)
    assert ServiceAccount.objects.filter(pk=account.pk).exists()
    asked.refresh_from_db()
    assert asked.status == AccessRequest.PENDING
    assert not AuditEntry.objects.exists()
    # An account is reached only under its own cluster.
    client.force_login(request.getfixturevalue("admin_user"))
    assert client.post(f"/clusters/other/accounts/{account.pk}/rotate/").status_code == 404
