"""End to end in Chromium: a team member creates a service account on a secured cluster,
and a real confluent-kafka client configured with exactly what the page showed produces
to the team's topic and is refused (TOPIC_AUTHORIZATION_FAILED) on another team's topic.

The cluster has a SASL_PLAINTEXT listener and an authorizer; the console connects to it
as the `admin` super user (tests/console/secure_clusters.py).
"""

from __future__ import annotations

import ast
import uuid
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import NewTopic
from django.contrib.auth.models import Group

from console.models import AuditEntry, ServiceAccount, Team
from tests.console.conftest import login
from tests.console.secure_clusters import SLUG, SecureCluster

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _produce(config: dict[str, str], topic: str) -> str:
    reports: list[str] = []
    producer = Producer({**config, "message.timeout.ms": 10_000, "log_level": 0})
    producer.produce(
        topic, b"from the browser's config",
        on_delivery=lambda err, _m: reports.append(err.name() if err else "OK"),
    )  # fmt: skip
    producer.flush(15)
    return reports[0] if reports else "UNDELIVERED"


def test_member_creates_a_service_account_and_its_config_works(
    live_server: Any, page: Any, django_user_model: Any, secure: SecureCluster,
    console_cluster: str,
) -> None:  # fmt: skip
    tag = uuid.uuid4().hex[:6]
    member = django_user_model.objects.create_user("member", "", "member-pass-123")
    teams = []
    for name in ("shop", "ledger"):
        group = Group.objects.create(name=f"team:{name}{tag}")
        teams.append(
            Team.objects.create(name=f"{name}{tag}", group=group, topic_prefix=f"{name}{tag}.")
        )
    member.groups.add(teams[0].group)
    mine, theirs = (f"{t.topic_prefix}events" for t in teams)
    admin = secure.admin()
    for future in admin.create_topics([NewTopic(t, 1, 1) for t in (mine, theirs)]).values():
        future.result(15)

    base = live_server.url
    login(page, base, "member", "member-pass-123")
    page.wait_for_url(f"{base}/clusters/local/")
    page.goto(f"{base}/teams/")
    page.get_by_role(
        "link", name=f"Service accounts of {teams[0].name} on Secured {secure.kind} as admin"
    ).click()
    page.wait_for_url(f"{base}/clusters/{SLUG}/teams/{teams[0].pk}/accounts/")
    # Another team's accounts are not offered to this member.
    assert page.get_by_role("link", name=f"Service accounts of {teams[1].name}").count() == 0
    page.fill("#id_name", "checkout")
    page.select_option("#id_access", "both")
    page.get_by_role("button", name="Create account").click()
    page.locator("#shown-password").wait_for()
    assert "shown this once" in page.locator("#shown-password").inner_text()
    assert "ScramLoginModule required" in page.locator("#config-java").inner_text()
    assert (
        f"sasl.username={teams[0].topic_prefix}checkout"
        in page.locator("#config-librdkafka").inner_text()
    )
    shown = page.locator("#config-python").inner_text()
    config: dict[str, str] = ast.literal_eval(shown.split("=", 1)[1].strip())

    assert _produce(config, mine) == "OK"
    assert _produce(config, theirs) == "TOPIC_AUTHORIZATION_FAILED"

    account = ServiceAccount.objects.get(name=f"{teams[0].topic_prefix}checkout")
    assert account.created_by == member
    assert AuditEntry.objects.filter(action="account.create", target=account.principal).exists()
    # Reloading the page never shows the password again.
    page.reload()
    assert page.locator("#shown-password").count() == 0
    assert config["sasl.password"] not in page.content()
