"""Who may use the registry: console users and team API keys by HTTP basic; teams write
only the subjects of their own topics; only admins change global settings."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from console.models import Team
from console.registry.auth import new_key
from tests.console.registry.conftest import Api, avro_record

SCHEMA = {"schema": avro_record("R", {"name": "a", "type": "string"})}


@pytest.fixture
def team(db: Any) -> Team:
    return Team.objects.create(
        name="Payments", group=Group.objects.create(name="team:payments"), topic_prefix="pay."
    )


def test_no_or_wrong_credentials_get_401(api: Api) -> None:
    response = Client().get("/schema-registry/subjects")
    assert response.status_code == 401
    assert response.json() == {"error_code": 40101, "message": "Unauthorized"}
    assert response["WWW-Authenticate"].startswith("Basic")
    assert Api(Client(), "admin", "wrong").get("subjects")[0] == 401
    assert Api(Client(), "nobody", "x").get("subjects")[0] == 401


def test_team_key_writes_only_its_topics_subjects(api: Api, team: Team) -> None:
    key, secret = new_key(team)
    as_team = Api(Client(), key.key, secret)
    assert as_team.post("subjects/pay.orders-value/versions", SCHEMA)[0] == 200
    assert as_team.post("subjects/pay.orders-key/versions", SCHEMA)[0] == 200
    for subject in ("ship.orders-value", "pay.orders", "anything"):
        status, body = as_team.post(f"subjects/{subject}/versions", SCHEMA)
        assert (status, body["error_code"]) == (403, 40301), subject
    # Reading is open to every authenticated caller.
    assert as_team.get("subjects") == (200, ["pay.orders-key", "pay.orders-value"])
    assert as_team.put("config", {"compatibility": "NONE"})[1]["error_code"] == 40301
    assert as_team.put("mode", {"mode": "READONLY"})[1]["error_code"] == 40301
    assert as_team.put("config/pay.orders-value", {"compatibility": "NONE"})[0] == 200
    assert as_team.delete("subjects/pay.orders-key") == (200, [1])
    assert Api(Client(), key.key, "not-the-secret").get("subjects")[0] == 401


def test_members_write_their_team_subjects_viewers_only_read(
    api: Api, team: Team, django_user_model: Any, viewer_user: Any
) -> None:
    member = django_user_model.objects.create_user("alice", "", "alice-pass-123")
    member.groups.add(team.group)
    as_member = Api(Client(), "alice", "alice-pass-123")
    assert as_member.post("subjects/pay.x-value/versions", SCHEMA)[0] == 200
    assert as_member.post("subjects/ops.x-value/versions", SCHEMA)[0] == 403
    as_viewer = Api(Client(), "viewer", "viewer-pass-123")
    assert as_viewer.get("subjects/pay.x-value/versions") == (200, [1])
    assert as_viewer.post("subjects/pay.x-value/versions", SCHEMA)[0] == 403
    assert as_viewer.delete("subjects/pay.x-value")[0] == 403
    assert as_viewer.delete("subjects/pay.x-value/versions/1")[0] == 403


def test_registry_key_command(team: Team, api: Api) -> None:
    out = io.StringIO()
    call_command("registry_key", "Payments", stdout=out)
    lines = dict(line.split(": ", 1) for line in out.getvalue().splitlines()[:2])
    as_team = Api(Client(), lines["key"], lines["secret"])
    assert as_team.post("subjects/pay.cli-value/versions", SCHEMA)[0] == 200
    with pytest.raises(CommandError, match="no team named 'Nobody'") as refused:
        call_command("registry_key", "Nobody")
    assert refused.value.returncode == 2


def test_guessing_a_password_locks_the_user_out(api: Api, settings: Any) -> None:
    guesser = Api(Client(), "admin", "guess")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert guesser.get("subjects")[0] == 401
    # Locked out: even the right password is refused for a while, with the same answer.
    assert api.get("subjects") == (401, {"error_code": 40101, "message": "Unauthorized"})
