"""Team service accounts on a secured cluster, as a team member drives them.

The member creates an account through the console; the configuration shown once is
handed to a real confluent-kafka client, which produces to and consumes from the team's
topics and is refused on another team's topic. Rotation, deletion, rights inside and
outside the prefix (an admin's approval), name clashes and the audit trail are checked
against the cluster's own answers.
"""

from __future__ import annotations

import ast
import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from django.contrib.auth.models import Group
from django.test import Client

from console.models import AccessRequest, AuditEntry, ServiceAccount, Team
from tests.console.secure_clusters import SLUG, SecureCluster

pytestmark = pytest.mark.django_db


@dataclass
class Teams:
    mine: Team
    other: Team
    member: Any


@pytest.fixture
def teams(django_user_model: Any, secure: SecureCluster, console_cluster: str) -> Teams:
    tag = uuid.uuid4().hex[:6]
    member = django_user_model.objects.create_user("member", "", "member-pass-123")
    made = []
    for name in ("pay", "bill"):
        group = Group.objects.create(name=f"team:{name}{tag}")
        made.append(
            Team.objects.create(name=f"{name}{tag}", group=group, topic_prefix=f"{name}{tag}.")
        )
    member.groups.add(made[0].group)
    client = secure.admin()
    topics = [f"{t.topic_prefix}orders" for t in made]
    for future in client.create_topics([NewTopic(t, 1, 1) for t in topics]).values():
        future.result(15)
    return Teams(made[0], made[1], member)


def _shown_config(response: Any) -> dict[str, str]:
    snippet = response.context["shown"]["configs"]["python"]
    assert snippet.encode() in response.content.replace(b"&quot;", b'"')
    config: dict[str, str] = ast.literal_eval(snippet.split("=", 1)[1].strip())
    return config


def _produce(config: dict[str, str], topic: str) -> str:
    reports: list[str] = []
    producer = Producer({**config, "message.timeout.ms": 10_000, "log_level": 0})
    producer.produce(
        topic, b"v", on_delivery=lambda err, _m: reports.append(err.name() if err else "OK")
    )
    producer.flush(15)
    return reports[0] if reports else "UNDELIVERED"


def _consume_one(config: dict[str, str], topic: str, group: str) -> bytes | None:
    consumer = Consumer(
        {**config, "group.id": group, "auto.offset.reset": "earliest", "log_level": 0}
    )
    consumer.subscribe([topic])
    try:
        for _ in range(30):
            msg = consumer.poll(1)
            if msg is not None and msg.error() is None:
                consumer.commit(msg, asynchronous=False)
                return bytes(msg.value())
        return None
    finally:
        consumer.close()


def _base(team: Team) -> str:
    return f"/clusters/{SLUG}/teams/{team.pk}/accounts/"


def test_member_creates_an_account_whose_config_works_only_inside_the_team(
    client: Client, teams: Teams, secure: SecureCluster
) -> None:
    client.force_login(teams.member)
    page = client.get(_base(teams.mine))
    assert page.status_code == 200
    made = client.post(_base(teams.mine), {"name": "billing-app", "access": "both"})
    assert made.status_code == 200
    name = teams.mine.topic_prefix + "billing-app"
    shown = made.context["shown"]
    assert shown["name"] == name
    assert b'id="config-java"' in made.content
    assert b"ScramLoginModule required username=&quot;" + name.encode() in made.content
    assert f"sasl.username={name}".encode() in made.content
    config = _shown_config(made)
    assert config["sasl.password"] == shown["password"]

    mine, theirs = (f"{t.topic_prefix}orders" for t in (teams.mine, teams.other))
    assert _produce(config, mine) == "OK"
    assert _produce(config, theirs) == "TOPIC_AUTHORIZATION_FAILED"
    assert _consume_one(config, mine, teams.mine.topic_prefix + "readers") == b"v"

    account = ServiceAccount.objects.get(name=name)
    assert account.team == teams.mine
    assert account.created_by == teams.member
    again = client.get(_base(teams.mine))
    assert shown["password"].encode() not in again.content  # shown once
    rights = {a: r for a, r, _ in again.context["accounts"]}[account]
    assert {(r.resource_type, r.pattern_type, r.resource_name, r.operation) for r in rights} == {
        ("TOPIC", "PREFIXED", teams.mine.topic_prefix, "READ"),
        ("TOPIC", "PREFIXED", teams.mine.topic_prefix, "WRITE"),
        ("GROUP", "PREFIXED", teams.mine.topic_prefix, "READ"),
    }
    entry = AuditEntry.objects.get(action="account.create")
    assert entry.target == f"User:{name}"
    assert entry.username == "member"
    assert shown["password"] not in json.dumps([entry.before, entry.after, entry.detail])


def test_a_read_only_account_cannot_write(
    client: Client, teams: Teams, secure: SecureCluster
) -> None:
    client.force_login(teams.member)
    made = client.post(_base(teams.mine), {"name": "reader", "access": "read"})
    config = _shown_config(made)
    assert _produce(config, f"{teams.mine.topic_prefix}orders") == "TOPIC_AUTHORIZATION_FAILED"


def test_rotate_replaces_the_password_and_delete_removes_everything(
    client: Client, teams: Teams, secure: SecureCluster
) -> None:
    client.force_login(teams.member)
    first = _shown_config(client.post(_base(teams.mine), {"name": "rot", "access": "write"}))
    account = ServiceAccount.objects.get(name=first["sasl.username"])
    topic = f"{teams.mine.topic_prefix}orders"

    rotated = client.post(f"/clusters/{SLUG}/accounts/{account.pk}/rotate/")
    assert rotated.status_code == 200
    second = _shown_config(rotated)
    assert second["sasl.password"] != first["sasl.password"]
    assert _produce(second, topic) == "OK"
    old = AdminClient({**first, "log_level": 0})
    with pytest.raises(KafkaException) as refused:
        old.list_topics(timeout=5)
    assert refused.value.args[0].code() in (KafkaError._AUTHENTICATION, KafkaError._TRANSPORT)

    deleted = client.post(f"/clusters/{SLUG}/accounts/{account.pk}/delete/")
    assert deleted.status_code == 302
    assert not ServiceAccount.objects.filter(pk=account.pk).exists()
    gone = AdminClient({**second, "log_level": 0})
    with pytest.raises(KafkaException):
        gone.list_topics(timeout=5)
    admin = secure.admin()
    from tests.console.test_security_pages import EVERY_ACL

    left = [
        b for b in admin.describe_acls(EVERY_ACL).result(15) if b.principal == account.principal
    ]
    assert left == []
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["account.create", "account.rotate", "account.delete"]


def test_rights_outside_the_prefix_wait_for_an_admin(
    client: Client, teams: Teams, secure: SecureCluster, admin_user: Any
) -> None:
    client.force_login(teams.member)
    config = _shown_config(client.post(_base(teams.mine), {"name": "wide", "access": "write"}))
    account = ServiceAccount.objects.get(name=config["sasl.username"])
    access = f"/clusters/{SLUG}/accounts/{account.pk}/access/"
    theirs = f"{teams.other.topic_prefix}orders"

    # Inside the prefix: granted at once.
    inside = client.post(access, {"resource_type": "TOPIC", "pattern_type": "LITERAL",
                                  "resource_name": f"{teams.mine.topic_prefix}orders",
                                  "access": "read"})  # fmt: skip
    assert inside.status_code == 302
    assert AuditEntry.objects.filter(action="account.grant").count() == 1
    # Outside: a request, nothing granted.
    asked = client.post(access, {"resource_type": "TOPIC", "pattern_type": "LITERAL",
                                 "resource_name": theirs, "access": "write",
                                 "note": "we feed their orders"})  # fmt: skip
    assert asked.status_code == 302
    request_row = AccessRequest.objects.get(account=account)
    assert request_row.status == AccessRequest.PENDING
    assert _produce(config, theirs) == "TOPIC_AUTHORIZATION_FAILED"
    teams_page = client.get("/teams/")
    assert [r.pk for r in teams_page.context["access_pending"]] == [request_row.pk]
    # The member cannot approve it.
    assert client.post(f"/teams/access-requests/{request_row.pk}/approve/").status_code == 403

    client.force_login(admin_user)
    assert b"we feed their orders" in client.get("/teams/").content
    approved = client.post(f"/teams/access-requests/{request_row.pk}/approve/")
    assert approved.status_code == 302
    request_row.refresh_from_db()
    assert request_row.status == AccessRequest.APPROVED
    assert request_row.decided_by == admin_user
    assert _produce(config, theirs) == "OK"
    grant = AuditEntry.objects.filter(action="account.grant").latest("id")
    assert grant.username == "admin"
    assert grant.after["resource_name"] == theirs


def test_an_existing_user_is_never_taken_over(
    client: Client, teams: Teams, secure: SecureCluster
) -> None:
    taken = f"{teams.mine.topic_prefix}taken"
    from console.clusters import get_cluster
    from console.kafka import scram

    scram.set_password(get_cluster(SLUG), taken, "original-secret")
    client.force_login(teams.member)
    refused = client.post(_base(teams.mine), {"name": "taken", "access": "both"})
    assert refused.status_code == 400
    assert b"already exists on this cluster" in refused.content
    still = AdminClient({**secure.client_config(taken, "original-secret")})
    still.list_topics(timeout=10)
    # A principal that only ACLs name (a PLAIN or certificate user, say) is taken too.
    from console.kafka import acls

    granted = acls.Acl("TOPIC", "elsewhere", "LITERAL", f"User:{teams.mine.topic_prefix}granted",
                       "*", "READ", "ALLOW")  # fmt: skip
    acls.create_acls(get_cluster(SLUG), [granted])
    named = client.post(_base(teams.mine), {"name": "granted", "access": "read"})
    assert named.status_code == 400
    assert b"already exists on this cluster" in named.content
    assert not ServiceAccount.objects.exists()
    assert not AuditEntry.objects.exists()
