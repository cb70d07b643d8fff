"""A team's byte rates as Kafka client quotas on its service accounts, on a secured cluster.

An admin sets the rates on the team's form; a member's new account carries them on its
user entity (read back with the gateway's own DescribeClientQuotas); new rates reach the
existing accounts, a blank rate removes the quota, deleting the account removes them all;
a member cannot change them; a cluster that refuses is reported, on creation and on a
change; and each step leaves its audit entry. Saving the team with its rates unchanged
catches up each account the cluster holds other byte rates for (and only those, leaving
any other quota key alone), and the accounts page says what the cluster holds where it
differs. Every quota and ACL a test sets is removed after it: the secured cluster lives
for the whole session.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
)
from django.contrib.auth.models import Group
from django.test import Client, override_settings

from console import account_limits
from console.clusters import get_cluster
from console.kafka import client_quotas, scram
from console.models import AuditEntry, Cluster, ServiceAccount, Team
from tests.console.secure_clusters import LIMITED, LIMITED_SLUG, SLUG, SecureCluster

pytestmark = pytest.mark.django_db

MiB = 1_048_576


@dataclass
class Setup:
    team: Team
    member: Any
    admin: Any


def _quotas_of_prefix(prefix: str) -> dict[str, dict[str, float]]:
    """Every user-entity quota on the secured cluster whose user starts with `prefix`."""
    return {
        name: dict(e.values)
        for e in client_quotas.describe(get_cluster(SLUG))
        if len(e.entity) == 1
        and e.entity[0][0] == client_quotas.USER
        and (name := e.entity[0][1] or "").startswith(prefix)
    }


@pytest.fixture
def setup(
    django_user_model: Any, admin_user: Any, secure: SecureCluster, console_cluster: str
) -> Iterator[Setup]:
    tag = uuid.uuid4().hex[:6]
    member = django_user_model.objects.create_user("member", "", "member-pass-123")
    group = Group.objects.create(name=f"team:rates{tag}")
    team = Team.objects.create(name=f"rates{tag}", group=group, topic_prefix=f"rates{tag}.")
    member.groups.add(group)
    yield Setup(team, member, admin_user)
    config = get_cluster(SLUG)
    for name, values in _quotas_of_prefix(team.topic_prefix).items():
        client_quotas.alter(config, ((client_quotas.USER, name),), dict.fromkeys(values))


def _edit(client: Client, team: Team, producer: object, consumer: object, **extra: Any) -> Any:
    form = {
        "name": team.name,
        "topic_prefix": team.topic_prefix,
        "max_partitions": team.max_partitions,
        "members": [u.pk for u in team.group.user_set.all()],
        "producer_byte_rate": producer,
        "consumer_byte_rate": consumer,
    }
    return client.post(f"/teams/{team.pk}/", form, **extra)


def _accounts(team: Team) -> str:
    return f"/clusters/{SLUG}/teams/{team.pk}/accounts/"


def test_rates_follow_the_team_from_creation_to_deletion(client: Client, setup: Setup) -> None:
    team, prefix = setup.team, setup.team.topic_prefix
    client.force_login(setup.admin)
    assert _edit(client, team, MiB, 2 * MiB).status_code == 302
    team.refresh_from_db()
    assert (team.producer_byte_rate, team.consumer_byte_rate) == (MiB, 2 * MiB)
    update = AuditEntry.objects.get(action="team.update")
    assert update.before["producer_byte_rate"] is None
    assert update.after["producer_byte_rate"] == MiB
    assert b"1,048,576 bytes/s (1 MiB/s)" in client.get("/teams/").content

    client.force_login(setup.member)
    made = client.post(_accounts(team), {"name": "app", "access": "both"})
    assert made.status_code == 200
    name = prefix + "app"
    assert _quotas_of_prefix(prefix) == {
        name: {"producer_byte_rate": MiB, "consumer_byte_rate": 2 * MiB}
    }
    produce_line = "Produce limited to 1,048,576 bytes/s (1 MiB/s) by your team's settings."
    assert made.context["shown"]["limits"] == [
        produce_line,
        "Consume limited to 2,097,152 bytes/s (2 MiB/s) by your team's settings.",
    ]
    config_area = made.content.split(b'id="config-limits"')[1].split(b"</div>")[0]
    assert produce_line.replace("'", "&#x27;").encode() in config_area
    assert produce_line in client.get(_accounts(team)).context["limits"]
    created = AuditEntry.objects.get(action="account.quota")
    assert (created.target, created.username) == (f"User:{name}", "member")
    assert created.after == {"producer_byte_rate": MiB, "consumer_byte_rate": 2 * MiB}

    # New rates reach the existing account; a blank one removes its quota.
    client.force_login(setup.admin)
    changed = _edit(client, team, 4096, "", follow=True)
    assert b"New byte rates set on 1 service account." in changed.content
    assert _quotas_of_prefix(prefix) == {name: {"producer_byte_rate": 4096}}
    change = AuditEntry.objects.filter(action="account.quota").latest("id")
    assert (change.target, change.username, change.cluster) == (f"User:{name}", "admin", SLUG)
    assert change.before == {"producer_byte_rate": MiB, "consumer_byte_rate": 2 * MiB}
    assert change.after == {"producer_byte_rate": 4096, "consumer_byte_rate": None}
    page = client.get(_accounts(team))
    assert page.context["limits"] == [
        "Produce limited to 4,096 bytes/s (4 KiB/s) by your team's settings."
    ]

    # Deleting the account removes what it had.
    client.force_login(setup.member)
    account = ServiceAccount.objects.get(name=name)
    assert client.post(f"/clusters/{SLUG}/accounts/{account.pk}/delete/").status_code == 302
    assert _quotas_of_prefix(prefix) == {}
    deleted = AuditEntry.objects.get(action="account.delete")
    assert deleted.before["quotas"] == {"producer_byte_rate": 4096}


def test_blank_rates_remove_every_limit(client: Client, setup: Setup) -> None:
    team, prefix = setup.team, setup.team.topic_prefix
    Team.objects.filter(pk=team.pk).update(producer_byte_rate=MiB, consumer_byte_rate=MiB)
    client.force_login(setup.member)
    client.post(_accounts(team), {"name": "one", "access": "read"})
    client.post(_accounts(team), {"name": "two", "access": "write"})
    assert set(_quotas_of_prefix(prefix)) == {prefix + "one", prefix + "two"}

    client.force_login(setup.admin)
    team.refresh_from_db()
    assert _edit(client, team, "", "").status_code == 302
    assert _quotas_of_prefix(prefix) == {}
    assert AuditEntry.objects.filter(action="account.quota", username="admin").count() == 2
    client.force_login(setup.member)
    page = client.get(_accounts(team))
    assert page.context["limits"] == []
    assert b"Your team sets no byte-rate limits" in page.content
    # A team without rates creates accounts without quotas (and without audit entries).
    client.post(_accounts(team), {"name": "three", "access": "read"})
    assert _quotas_of_prefix(prefix) == {}
    assert AuditEntry.objects.filter(action="account.quota").count() == 4


def test_a_member_sees_the_rates_and_cannot_change_them(client: Client, setup: Setup) -> None:
    team, prefix = setup.team, setup.team.topic_prefix
    Team.objects.filter(pk=team.pk).update(producer_byte_rate=MiB)
    client.force_login(setup.member)
    client.post(_accounts(team), {"name": "app", "access": "write"})
    before = _quotas_of_prefix(prefix)
    assert before == {prefix + "app": {"producer_byte_rate": MiB}}
    audited = AuditEntry.objects.count()

    team.refresh_from_db()
    assert client.get(f"/teams/{team.pk}/").status_code == 403
    for extra in ({}, {"HTTP_HX_REQUEST": "true"}):
        assert _edit(client, team, 1, 1, **extra).status_code == 403
    team.refresh_from_db()
    assert (team.producer_byte_rate, team.consumer_byte_rate) == (MiB, None)
    assert _quotas_of_prefix(prefix) == before
    assert AuditEntry.objects.count() == audited
    assert b"1,048,576 bytes/s (1 MiB/s)" in client.get("/teams/").content


def test_a_refused_quota_leaves_no_account_behind(client: Client, setup: Setup) -> None:
    team, prefix = setup.team, setup.team.topic_prefix
    # A rate the form would never take (it asks for at least 1), as an older row or a
    # direct database edit could hold: the cluster's own refusal is what is shown.
    Team.objects.filter(pk=team.pk).update(producer_byte_rate=0)
    client.force_login(setup.member)
    refused = client.post(_accounts(team), {"name": "app", "access": "both"})
    assert refused.status_code == 400
    assert b"The cluster refused the quota of user=" + prefix.encode() in refused.content
    assert b"must be greater than 0" in refused.content
    config = get_cluster(SLUG)
    assert not any(u.name == prefix + "app" for u in scram.list_users(config))
    assert _quotas_of_prefix(prefix) == {}
    assert not ServiceAccount.objects.exists()
    assert not AuditEntry.objects.exists()


def test_a_cluster_that_refuses_new_rates_is_named(client: Client, setup: Setup) -> None:
    team, prefix = setup.team, setup.team.topic_prefix
    client.force_login(setup.member)
    client.post(_accounts(team), {"name": "app", "access": "read"})
    # The same broker reached as a user with no rights refuses AlterClientQuotas.
    ServiceAccount.objects.create(cluster=LIMITED_SLUG, team=team, name=prefix + "other",
                                  access="read")  # fmt: skip

    client.force_login(setup.admin)
    answer = _edit(client, team, 8192, "", follow=True)
    assert f"{LIMITED_SLUG}: ".encode() in answer.content
    assert b"keep their previous limits" in answer.content
    assert _quotas_of_prefix(prefix) == {prefix + "app": {"producer_byte_rate": 8192}}
    team.refresh_from_db()
    assert team.producer_byte_rate == 8192  # the admin's decision stands
    changed = AuditEntry.objects.filter(action="account.quota").values_list("cluster", flat=True)
    assert list(changed) == [SLUG]


def _hold(name: str, values: dict[str, float | None]) -> None:
    """The cluster holds `values` on the account's user entity, as a refused or unreachable
    cluster, or an admin's hand on the Client quotas page, would have left it."""
    client_quotas.alter(get_cluster(SLUG), ((client_quotas.USER, name),), values)


def _text(response: Any) -> str:
    return html.unescape(response.content.decode())


def _row(response: Any, account: ServiceAccount) -> str:
    return _text(response).split(f'id="account-{account.pk}"')[1].split("</tr>")[0]


def _accounts_of(client: Client, team: Team, *names: str) -> None:
    for name in names:
        assert client.post(_accounts(team), {"name": name, "access": "read"}).status_code == 200


def test_saving_unchanged_rates_catches_up_what_the_cluster_missed(
    client: Client, setup: Setup
) -> None:
    team, prefix = setup.team, setup.team.topic_prefix
    Team.objects.filter(pk=team.pk).update(producer_byte_rate=MiB)
    client.force_login(setup.member)
    _accounts_of(client, team, "late", "held")
    late, held = prefix + "late", prefix + "held"
    # The produce rate never arrived, a consume rate the team no longer sets stayed, and
    # an admin added a key of their own by hand.
    by_hand = {"producer_byte_rate": None, "consumer_byte_rate": MiB, "request_percentage": 50.0}
    _hold(late, by_hand)
    missed = (
        "On this cluster: produce unlimited, consume 1,048,576 bytes/s (1 MiB/s) — the team "
        "sets produce 1,048,576 bytes/s (1 MiB/s), consume unlimited. An administrator "
        "saving the team re-applies its rates."
    )
    page = client.get(_accounts(team))
    assert missed in _row(page, ServiceAccount.objects.get(name=late))
    assert "On this cluster" not in _row(page, ServiceAccount.objects.get(name=held))

    client.force_login(setup.admin)
    team.refresh_from_db()
    saved = _edit(client, team, MiB, "", follow=True)
    caught_up = f"Team {team.name}'s byte rates re-applied on 1 service account that did not"
    assert caught_up + " hold them." in _text(saved)
    assert _quotas_of_prefix(prefix) == {
        late: {"producer_byte_rate": MiB, "request_percentage": 50.0},
        held: {"producer_byte_rate": MiB},
    }
    caught = AuditEntry.objects.get(action="account.quota", username="admin")
    assert (caught.cluster, caught.target) == (SLUG, f"User:{late}")
    assert caught.before == {"producer_byte_rate": None, "consumer_byte_rate": MiB}
    assert caught.after == {"producer_byte_rate": MiB, "consumer_byte_rate": None}
    assert caught.detail == f"caught up with team {team.name}'s byte rates"
    assert "On this cluster" not in _text(client.get(_accounts(team)))


def test_saving_rates_every_account_holds_changes_nothing(client: Client, setup: Setup) -> None:
    team, prefix = setup.team, setup.team.topic_prefix
    Team.objects.filter(pk=team.pk).update(producer_byte_rate=MiB, consumer_byte_rate=2 * MiB)
    client.force_login(setup.member)
    _accounts_of(client, team, "app")
    before = _quotas_of_prefix(prefix)

    client.force_login(setup.admin)
    team.refresh_from_db()
    saved = _edit(client, team, MiB, 2 * MiB, follow=True)
    assert f"Team {team.name} saved." in _text(saved)
    assert "re-applied" not in _text(saved)
    assert _quotas_of_prefix(prefix) == before
    assert not AuditEntry.objects.filter(action="account.quota", username="admin").exists()


@override_settings(ODRADEK_CLUSTER_TIMEOUT=1)
def test_a_cluster_that_refuses_or_is_gone_during_catch_up_is_named(
    client: Client, setup: Setup
) -> None:
    team, prefix = setup.team, setup.team.topic_prefix
    Team.objects.filter(pk=team.pk).update(producer_byte_rate=MiB)
    client.force_login(setup.member)
    _accounts_of(client, team, "late")
    _hold(prefix + "late", {"producer_byte_rate": 4096})
    Cluster.objects.create(slug="gone", name="Gone", bootstrap_servers="127.0.0.1:1")
    for slug in (LIMITED_SLUG, "gone"):  # `limited` may not describe the client quotas
        ServiceAccount.objects.create(cluster=slug, team=team, name=prefix + "elsewhere")

    client.force_login(setup.admin)
    team.refresh_from_db()
    team.max_partitions = 7  # the form carries a change besides the unchanged rates
    saved = _text(_edit(client, team, MiB, "", follow=True))
    for slug in (LIMITED_SLUG, "gone"):
        assert f"could not be re-applied on every account; {slug}: " in saved
    assert "keep the limits they hold" in saved
    assert "re-applied on 1 service account" in saved  # the cluster that answers catches up
    assert _quotas_of_prefix(prefix) == {prefix + "late": {"producer_byte_rate": MiB}}
    team.refresh_from_db()
    assert team.max_partitions == 7  # the admin's save stands
    changed = AuditEntry.objects.filter(action="account.quota", username="admin")
    assert list(changed.values_list("cluster", flat=True)) == [SLUG]


def test_a_member_cannot_make_the_console_catch_up(client: Client, setup: Setup) -> None:
    team, prefix = setup.team, setup.team.topic_prefix
    Team.objects.filter(pk=team.pk).update(producer_byte_rate=MiB)
    client.force_login(setup.member)
    _accounts_of(client, team, "late")
    _hold(prefix + "late", {"producer_byte_rate": None})
    audited = AuditEntry.objects.count()

    team.refresh_from_db()
    for extra in ({}, {"HTTP_HX_REQUEST": "true"}):
        assert _edit(client, team, MiB, "", **extra).status_code == 403
    assert _quotas_of_prefix(prefix) == {}
    assert AuditEntry.objects.count() == audited


@pytest.fixture
def describes_acls_only(secure: SecureCluster) -> Iterator[None]:
    """`limited` may list ACLs (DESCRIBE on the cluster) but not the client quotas
    (DESCRIBE_CONFIGS); the grant goes with the test."""
    grant = (ResourceType.BROKER, "kafka-cluster", ResourcePatternType.LITERAL,
             f"User:{LIMITED}", "*", AclOperation.DESCRIBE, AclPermissionType.ALLOW)  # fmt: skip
    admin = secure.admin()  # kept: a collected client fails the futures it made
    for future in admin.create_acls([AclBinding(*grant)]).values():
        future.result(15)
    yield
    for future in admin.delete_acls([AclBindingFilter(*grant)]).values():
        future.result(15)


def test_the_page_shows_no_held_rates_when_the_cluster_cannot_say(
    client: Client, setup: Setup, describes_acls_only: None
) -> None:
    team, prefix = setup.team, setup.team.topic_prefix
    Team.objects.filter(pk=team.pk).update(producer_byte_rate=MiB)
    client.force_login(setup.member)
    _accounts_of(client, team, "late")
    _hold(prefix + "late", {"producer_byte_rate": None})
    assert "On this cluster" in _text(client.get(_accounts(team)))
    # The same account, seen through a cluster that lists its ACLs but not its quotas, and
    # through one that does not answer at all.
    Cluster.objects.create(slug="gone", name="Gone", bootstrap_servers="127.0.0.1:1")
    seen = {
        slug: ServiceAccount.objects.create(cluster=slug, team=team, name=prefix + "late")
        for slug in (LIMITED_SLUG, "gone")
    }

    with override_settings(ODRADEK_CLUSTER_TIMEOUT=1):
        gone = client.get(f"/clusters/gone/teams/{team.pk}/accounts/")
    assert gone.status_code == 200
    assert "is unreachable" in _text(gone)
    assert "On this cluster" not in _row(gone, seen["gone"])
    refused = client.get(f"/clusters/{LIMITED_SLUG}/teams/{team.pk}/accounts/")
    assert refused.status_code == 200
    assert "lack the DESCRIBE_CONFIGS permission" in _text(refused)
    assert "On this cluster" not in _row(refused, seen[LIMITED_SLUG])
    assert "READ" in _row(refused, seen[LIMITED_SLUG])  # its ACLs were listed


def test_which_accounts_hold_other_rates() -> None:
    """Pure: only the account's own user entity and only the two byte rates count."""
    team = Team(producer_byte_rate=MiB, consumer_byte_rate=None)
    user, client_id, rate = client_quotas.USER, client_quotas.CLIENT_ID, float(MiB)
    held: dict[client_quotas.Entity, dict[str, float]] = {
        ((user, "same"),): {"producer_byte_rate": rate, "request_percentage": 50.0},
        ((user, "more"),): {"producer_byte_rate": rate + 0.5},
        ((user, "extra"),): {"producer_byte_rate": rate, "consumer_byte_rate": 1.0},
        # Another entity naming the user is not the account's own.
        ((user, "none"), (client_id, "app")): {"producer_byte_rate": rate},
    }
    entries = [client_quotas.QuotaEntry(entity, values) for entity, values in held.items()]
    names = ["same", "more", "extra", "none"]
    assert account_limits.differing(entries, names, team) == {
        "more": {"producer_byte_rate": rate + 0.5, "consumer_byte_rate": None},
        "extra": {"producer_byte_rate": rate, "consumer_byte_rate": 1.0},
        "none": {"producer_byte_rate": None, "consumer_byte_rate": None},
    }
    assert account_limits.differing([], names, Team()) == {}
    sentence = account_limits.held_sentence(
        {"producer_byte_rate": rate, "consumer_byte_rate": 1.0}, team
    )
    assert sentence == (
        "On this cluster: produce 1,048,576 bytes/s (1 MiB/s), consume 1 bytes/s — the team "
        "sets consume unlimited. An administrator saving the team re-applies its rates."
    )
