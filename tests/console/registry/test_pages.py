"""The schemas pages: subjects with their topic, versions and diffs, and registering a new
version with the compatibility check; refusals for people outside the subject's team."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from console.models import Team
from console.registry import store
from tests.console.groups_helpers import unique
from tests.console.registry.conftest import avro_record
from tests.console.topics_helpers import console_on, make_topic

V1 = avro_record("R", {"name": "a", "type": "string"})
V2 = avro_record("R", {"name": "a", "type": "string"}, {"name": "b", "type": "int", "default": 0})
BAD = avro_record("R", {"name": "a", "type": "int"})


def register(subject: str, text: str) -> None:
    store.register(subject, store.Candidate("AVRO", text, []))


@pytest.fixture
def logged_in(client: Client, admin_user: Any) -> Client:
    client.force_login(admin_user)
    return client


def test_list_links_subjects_to_their_topics(
    logged_in: Client, shared_broker: Any, db: Any
) -> None:
    topic = unique("sr-page")
    make_topic(shared_broker.bootstrap, topic)
    register(f"{topic}-value", V1)
    register("loose-subject", V1)
    with console_on(shared_broker.bootstrap):
        page = logged_in.get("/clusters/local/schemas/").content.decode()
        assert f'href="/clusters/local/schemas/{topic}-value/"' in page
        assert f'href="/clusters/local/topics/{topic}/"' in page
        assert "loose-subject" in page
        detail = logged_in.get(f"/clusters/local/schemas/{topic}-value/").content.decode()
        assert "Used by topic" in detail


def test_versions_diff_and_level(logged_in: Client, db: Any) -> None:
    register("d-value", V1)
    register("d-value", V2)
    with console_on("127.0.0.1:1"):
        page = logged_in.get("/clusters/local/schemas/d-value/?v=2&diff=1").content.decode()
    assert "BACKWARD" in page
    assert '<span class="add">+' in page
    assert "&quot;default&quot;: 0" in page
    assert "<strong>v2</strong>" in page


def test_check_before_register_then_register(logged_in: Client, db: Any) -> None:
    register("c-value", V1)
    url = "/clusters/local/schemas/c-value/"
    with console_on("127.0.0.1:1"):
        checked = logged_in.post(
            url, {"schema_type": "AVRO", "schema": BAD}, HTTP_HX_REQUEST="true"
        )
        assert "Incompatible at BACKWARD" in checked.content.decode()
        refused = logged_in.post(url, {"schema_type": "AVRO", "schema": BAD, "action": "register"})
        assert refused.status_code == 200
        assert "Incompatible" in refused.content.decode()
        assert [r.version for r in store.versions("c-value")] == [1]
        checked = logged_in.post(url, {"schema_type": "AVRO", "schema": V2}, HTTP_HX_REQUEST="true")
        assert "Compatible at BACKWARD" in checked.content.decode()
        saved = logged_in.post(url, {"schema_type": "AVRO", "schema": V2, "action": "register"})
        assert saved.status_code == 302
        invalid = logged_in.post(url, {"schema_type": "AVRO", "schema": "{", "action": "register"})
        assert "Not a valid schema" in invalid.content.decode()
    assert [r.version for r in store.versions("c-value")] == [1, 2]


def test_outsiders_cannot_register(client: Client, django_user_model: Any, db: Any) -> None:
    team = Team.objects.create(
        name="Pay", group=Group.objects.create(name="t:pay"), topic_prefix="pay."
    )
    member = django_user_model.objects.create_user("alice", "", "alice-pass-123")
    member.groups.add(team.group)
    outsider = django_user_model.objects.create_user("bob", "", "bob-pass-123")
    register("pay.x-value", V1)
    url = "/clusters/local/schemas/pay.x-value/"
    with console_on("127.0.0.1:1"):
        client.force_login(outsider)
        assert "Register a new version" not in client.get(url).content.decode()
        response = client.post(url, {"schema_type": "AVRO", "schema": V2, "action": "register"})
        assert response.status_code == 403
        client.force_login(member)
        assert "Register a new version" in client.get(url).content.decode()
        response = client.post(url, {"schema_type": "AVRO", "schema": V2, "action": "register"})
        assert response.status_code == 302
        client.logout()
        assert client.get(url).status_code == 302  # to the login page
    assert [r.version for r in store.versions("pay.x-value")] == [1, 2]


def test_register_page_follows_the_normalize_config(logged_in: Client, db: Any) -> None:
    register("n-value", V1)
    store.configure("n-value", normalize=True)
    url = "/clusters/local/schemas/n-value/"
    # V1 with its keys in another order and spread over lines: the same schema normalized.
    same = '{\n "fields": [{"type": "string", "name": "a"}],\n "type": "record",\n "name": "R"\n}'
    with console_on("127.0.0.1:1"):
        saved = logged_in.post(url, {"schema_type": "AVRO", "schema": same, "action": "register"})
        assert saved.status_code == 302
    assert [r.version for r in store.versions("n-value")] == [1]
