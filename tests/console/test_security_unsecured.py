"""The Users and ACLs pages on clusters without an authorizer (the session's plain
bundled broker and Apache Kafka): ACLs cannot exist there, which the page says in words;
SCRAM users can (Kafka keeps them even without a SASL listener)."""

from __future__ import annotations

import html
import uuid
from typing import Any

import pytest
from django.test import Client

from tests.console.topics_helpers import console_on

pytestmark = pytest.mark.django_db


def test_acls_page_says_there_is_no_authorizer(
    client: Client, admin_user: Any, cluster: Any
) -> None:
    client.force_login(admin_user)
    with console_on(cluster.bootstrap):
        page = client.get("/clusters/local/acls/")
        assert page.status_code == 200
        text = html.unescape(page.content.decode())
        assert "the cluster runs without an authorizer, so it keeps no ACLs" in text
        assert "unreachable" not in text
        made = client.post(
            "/clusters/local/acls/new/",
            {"principal": "User:x", "resource_type": "TOPIC", "pattern_type": "LITERAL",
             "resource_name": "t", "operation": "READ", "permission": "ALLOW", "host": "*"},
        )  # fmt: skip
        assert made.status_code == 400
        assert "without an authorizer" in html.unescape(made.content.decode())


def test_users_page_on_a_cluster_without_authorizer(
    client: Client, admin_user: Any, cluster: Any
) -> None:
    client.force_login(admin_user)
    name = f"plain-{uuid.uuid4().hex[:6]}"
    with console_on(cluster.bootstrap):
        page = client.get("/clusters/local/users/")
        assert page.status_code == 200
        text = html.unescape(page.content.decode())
        assert "lack" not in text
        if cluster.kind == "odradek":
            return
        made = client.post("/clusters/local/users/new/", {"name": name, "password": "",
                                                          "mechanisms": ["SCRAM-SHA-256"],
                                                          "iterations": "4096"})  # fmt: skip
        assert made.status_code == 200
        assert name in {u.name for u in made.context["users"]}
        client.post(f"/clusters/local/users/{name}/delete/")
