"""The Users and ACLs pages of a secured cluster, on the bundled broker and Apache Kafka.

The console reaches each cluster over SASL_PLAINTEXT as the `admin` super user
(tests/console/secure_clusters.py); every change is checked with the cluster's own
answer (DescribeAcls from a separate client, a real client logging in with the new
password), and in the audit trail, which never holds a password.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
)
from django.test import Client

from console.models import AuditEntry
from tests.console.secure_clusters import SLUG, SecureCluster

pytestmark = pytest.mark.django_db

EVERY_ACL = AclBindingFilter(
    ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
    AclOperation.ANY, AclPermissionType.ANY,
)  # fmt: skip


def _cluster_acls(secure: SecureCluster, principal: str) -> set[tuple[str, ...]]:
    client = secure.admin()  # kept alive until its future answers
    found = client.describe_acls(EVERY_ACL).result(15)
    return {
        (b.restype.name, b.name, b.resource_pattern_type.name, b.operation.name,
         b.permission_type.name, b.host)
        for b in found
        if b.principal == principal
    }  # fmt: skip


def _acl(principal: str, name: str, **changes: str) -> dict[str, str]:
    return {
        "principal": principal,
        "resource_type": "TOPIC",
        "pattern_type": "PREFIXED",
        "resource_name": name,
        "operation": "READ",
        "permission": "ALLOW",
        "host": "*",
        **changes,
    }


def test_admin_creates_filters_and_deletes_acls(
    client: Client, admin_user: Any, secure: SecureCluster, console_cluster: str
) -> None:
    client.force_login(admin_user)
    who = f"User:app-{uuid.uuid4().hex[:6]}"
    base = f"/clusters/{SLUG}/acls/"
    page = client.get(base)
    assert page.status_code == 200
    assert b"Pattern type" in page.content
    assert b"prefixed: every resource" in page.content

    made = client.post(base + "new/", _acl(who, "orders."))
    assert made.status_code == 302
    client.post(base + "new/", _acl(who, "orders-g", resource_type="GROUP", pattern_type="LITERAL"))
    client.post(base + "new/", _acl(who, "orders.secret", pattern_type="LITERAL",
                                    operation="WRITE", permission="DENY"))  # fmt: skip
    assert _cluster_acls(secure, who) == {
        ("TOPIC", "orders.", "PREFIXED", "READ", "ALLOW", "*"),
        ("GROUP", "orders-g", "LITERAL", "READ", "ALLOW", "*"),
        ("TOPIC", "orders.secret", "LITERAL", "WRITE", "DENY", "*"),
    }

    mine = client.get(base, {"principal": who})
    assert len(mine.context["acls"]) == 3
    groups = client.get(base, {"principal": who, "resource_type": "GROUP"})
    assert [a.resource_name for a in groups.context["acls"]] == ["orders-g"]
    named = client.get(base, {"resource_name": "orders.secret"})
    assert {(a.principal, a.permission) for a in named.context["acls"]} == {(who, "DENY")}

    deny = next(a for a in mine.context["acls"] if a.permission == "DENY")
    gone = client.post(base + "delete/", vars(deny), HTTP_HX_REQUEST="true")
    assert gone.status_code == 200
    assert b'id="acl-table"' in gone.content
    assert ("TOPIC", "orders.secret", "LITERAL", "WRITE", "DENY", "*") not in _cluster_acls(
        secure, who
    )
    assert len(_cluster_acls(secure, who)) == 2

    entries = AuditEntry.objects.filter(target=who).order_by("id")
    assert [e.action for e in entries] == ["acl.create"] * 3 + ["acl.delete"]
    assert entries[0].after["resource_name"] == "orders."
    assert entries[3].before["permission"] == "DENY"
    assert all(e.username == "admin" and e.cluster == SLUG for e in entries)


def test_a_malformed_acl_is_refused_with_reasons(
    client: Client, admin_user: Any, secure: SecureCluster, console_cluster: str
) -> None:
    client.force_login(admin_user)
    base = f"/clusters/{SLUG}/acls/"
    no_type = client.post(base + "new/", _acl("alice", "x"))
    assert no_type.status_code == 400
    assert b"TYPE:NAME" in no_type.content
    group = client.post(base + "new/", _acl("Group:ops", "x"))
    assert b"User principals only" in group.content
    cluster = client.post(base + "new/", _acl("User:alice", "mine", resource_type="CLUSTER"))
    assert b"always called kafka-cluster" in cluster.content
    everything = client.post(base + "new/", _acl("User:alice", "*"))
    assert b"needs a real prefix" in everything.content
    assert _cluster_acls(secure, "User:alice") == set()
    # A delete that cannot be done answers, to htmx, the table with the reason above it,
    # marked to be swapped in despite its error status (static/console/htmx-errors.js).
    broken = client.post(base + "delete/", {"principal": "User:alice"}, HTTP_HX_REQUEST="true")
    assert broken.status_code == 502
    assert broken["HX-Error-Fragment"] == "1"
    assert b'id="acl-table"' in broken.content
    assert b'<caption class="error" role="alert">That is not an ACL Kafka knows' in broken.content
    assert not AuditEntry.objects.exists()


def test_admin_creates_users_and_their_passwords_work(
    client: Client, admin_user: Any, secure: SecureCluster, console_cluster: str
) -> None:
    client.force_login(admin_user)
    base = f"/clusters/{SLUG}/users/"
    typed, generated = f"typed-{uuid.uuid4().hex[:6]}", f"gen-{uuid.uuid4().hex[:6]}"
    made = client.post(
        base + "new/",
        {"name": typed, "password": "typed-secret-1", "mechanisms": ["SCRAM-SHA-512"],
         "iterations": "8192"},
    )  # fmt: skip
    assert made.status_code == 200
    assert b"typed-secret-1" not in made.content
    listed = {u.name: u for u in made.context["users"]}
    assert listed[typed].credentials == (("SCRAM-SHA-512", 8192),)
    assert b"SCRAM-SHA-512 (8192)" in made.content

    shown = client.post(
        base + "new/",
        {"name": generated, "password": "", "mechanisms": ["SCRAM-SHA-256", "SCRAM-SHA-512"],
         "iterations": "4096"},
    )  # fmt: skip
    assert shown.status_code == 200, shown.context["form"].errors
    password = shown.context["shown"]["password"]
    assert len(password) >= 32
    assert password.encode() in shown.content
    assert b"shown this once" in shown.content
    # The password works: a real client logs in with it (and sees no topic: no ACL yet).
    config = secure.client_config(generated, password)
    from confluent_kafka.admin import AdminClient

    AdminClient(config).list_topics(timeout=10)
    again = client.get(base)
    assert password.encode() not in again.content  # shown once only
    wrong = AdminClient({**config, "sasl.password": "not-it"})
    with pytest.raises(KafkaException):
        wrong.list_topics(timeout=5)

    deleted = client.post(base + f"{generated}/delete/")
    assert deleted.status_code == 302
    assert generated not in {u.name for u in client.get(base).context["users"]}

    entries = list(AuditEntry.objects.filter(action__startswith="scram.").order_by("id"))
    assert [(e.action, e.target) for e in entries] == [
        ("scram.create", typed),
        ("scram.create", generated),
        ("scram.delete", generated),
    ]
    assert entries[1].detail == "password generated"
    trail = json.dumps([[e.before, e.after, e.detail] for e in entries])
    assert password not in trail
    assert "typed-secret-1" not in trail


def test_a_bad_user_form_is_refused(
    client: Client, admin_user: Any, secure: SecureCluster, console_cluster: str
) -> None:
    client.force_login(admin_user)
    base = f"/clusters/{SLUG}/users/"
    spaced = client.post(base + "new/", {"name": "has space", "mechanisms": ["SCRAM-SHA-256"],
                                         "iterations": "4096"})  # fmt: skip
    assert spaced.status_code == 400
    assert b"letters, digits" in spaced.content
    few = client.post(base + "new/", {"name": "ok", "mechanisms": ["SCRAM-SHA-256"],
                                      "iterations": "100"})  # fmt: skip
    assert few.status_code == 400
    assert b"4096" in few.content
    short = client.post(base + "new/", {"name": "ok", "password": "short",
                                        "mechanisms": ["SCRAM-SHA-256"], "iterations": "4096"})  # fmt: skip
    assert b"at least 8 characters" in short.content
    assert not AuditEntry.objects.exists()
