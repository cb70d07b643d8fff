"""The console's own credentials lack a permission: every page says which, in a banner,
never a stack trace or a 500.

The console reaches the secured cluster as `limited` (tests/console/secure_clusters.py),
a user the test grants only DESCRIBE on one topic: the other topic and the group exist
(made by the admin) but `limited` may not describe them.
"""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)
from django.test import Client

from tests.console.secure_clusters import LIMITED, LIMITED_SLUG, SecureCluster

pytestmark = pytest.mark.django_db


@pytest.fixture
def names(secure: SecureCluster, console_cluster: str) -> dict[str, str]:
    tag = uuid.uuid4().hex[:6]
    found = {"seen": f"lim-{tag}-seen", "hidden": f"lim-{tag}-hidden", "group": f"lim-{tag}-g"}
    admin = secure.admin()
    for future in admin.create_topics(
        [NewTopic(found[k], 1, 1) for k in ("seen", "hidden")]
    ).values():
        future.result(15)
    grant = AclBinding(ResourceType.TOPIC, found["seen"], ResourcePatternType.LITERAL,
                       f"User:{LIMITED}", "*", AclOperation.DESCRIBE, AclPermissionType.ALLOW)  # fmt: skip
    for future in admin.create_acls([grant]).values():
        future.result(15)
    committer = Consumer({**secure.client_config(), "group.id": found["group"]})
    committer.commit(offsets=[TopicPartition(found["seen"], 0, 0)], asynchronous=False)
    committer.close()
    return found


def _banner(response: Any) -> str:
    text = html.unescape(response.content.decode())
    found = re.search(r'class="banner banner-error" role="alert">(.*?)</div>', text, re.S)
    return " ".join(re.sub("<[^>]+>", "", found.group(1)).split()) if found else ""


def test_every_page_names_the_missing_permission(
    client: Client, admin_user: Any, names: dict[str, str]
) -> None:
    client.force_login(admin_user)
    base = f"/clusters/{LIMITED_SLUG}"
    brokers = client.get(base + "/brokers/")
    node = brokers.context["brokers"][0].node_id
    lacking = {
        f"/topics/{names['seen']}/": f"DESCRIBE_CONFIGS permission on topic {names['seen']}",
        f"/groups/{names['group']}/": f"DESCRIBE permission on group '{names['group']}'",
        f"/brokers/{node}/configs/": "DESCRIBE_CONFIGS permission on the cluster",
        "/users/": "DESCRIBE permission on the cluster (needed to list the SCRAM users)",
        "/acls/": "DESCRIBE permission on the cluster (needed to list the ACLs)",
    }
    quiet = ["/", "/topics/", "/groups/", "/brokers/", "/retention/", "/health/",
             "/transactions/", f"/topics/{names['seen']}/messages/"]  # fmt: skip
    for page, missing in lacking.items():
        response = client.get(base + page)
        assert response.status_code == 200, page
        banner = _banner(response)
        assert banner.startswith("Cluster Secured"), (page, banner)
        assert "refused: Not authorized: the console's credentials lack the " + missing in banner
        assert "unreachable" not in banner
    for page in quiet:
        response = client.get(base + page)
        assert response.status_code == 200, page
        assert "unreachable" not in _banner(response), page
        assert b"Traceback" not in response.content
    # What the console may not describe, it does not list: Kafka's Metadata hides it.
    topics = client.get(base + "/topics/").context
    assert names["hidden"] not in str(topics.get("topics", ""))


def test_the_same_pages_work_with_the_admins_credentials(
    client: Client, admin_user: Any, names: dict[str, str], secure: SecureCluster
) -> None:
    client.force_login(admin_user)
    for page in (f"/topics/{names['seen']}/", f"/groups/{names['group']}/", "/users/", "/acls/"):
        response = client.get(f"/clusters/secure{page}")
        assert response.status_code == 200, page
        assert _banner(response) == "", page


def test_refused_changes_name_the_missing_permission(
    client: Client, admin_user: Any, names: dict[str, str]
) -> None:
    client.force_login(admin_user)
    base = f"/clusters/{LIMITED_SLUG}"
    new = f"{names['seen']}-new"
    made = client.post(
        base + "/new-topic/",
        {"name": new, "partitions": "1", "cleanup_policy": "delete"},
        follow=True,
    )
    text = html.unescape(made.content.decode())
    assert f"lack the CREATE permission on topic {new}" in text
    gone = client.post(
        base + f"/topics/{names['seen']}/delete/", {"confirm": names["seen"]}, follow=True
    )
    text = html.unescape(gone.content.decode())
    assert f"lack the DELETE permission on topic {names['seen']}" in text
    assert "Traceback" not in text


def test_share_state_without_cluster_action_says_so(
    client: Client, admin_user: Any, names: dict[str, str], secure: SecureCluster
) -> None:
    """The records-in-flight section reads ReadShareGroupState where the console cannot see
    a `__share_group_state` topic (always on the bundled broker; on Kafka for a principal
    the topic is hidden from), which needs CLUSTER_ACTION: the console's `limited`
    principal, allowed the group and the topic but not that, gets a sentence naming it
    instead of empty figures, on both brokers."""
    from confluent_kafka import AcknowledgeType, Producer, ShareConsumer
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource

    topic, group = names["seen"], f"{names['group']}-share"
    admin = secure.admin()
    earliest = ConfigEntry("share.auto.offset.reset", "earliest",
                           incremental_operation=AlterConfigOpType.SET)  # fmt: skip
    resource = ConfigResource(ResourceType.GROUP, group, incremental_configs=[earliest])
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(15)
    grants = [
        AclBinding(
            rtype,
            name,
            ResourcePatternType.LITERAL,
            f"User:{LIMITED}",
            "*",
            op,
            AclPermissionType.ALLOW,
        )
        for rtype, name, op in [
            (ResourceType.TOPIC, topic, AclOperation.READ),
            (ResourceType.GROUP, group, AclOperation.DESCRIBE),
            (ResourceType.GROUP, group, AclOperation.READ),
        ]
    ]
    for future in admin.create_acls(grants).values():
        future.result(15)
    producer = Producer(secure.client_config())
    producer.produce(topic, b"x")
    assert producer.flush(15) == 0
    consumer = ShareConsumer(
        {**secure.client_config(), "group.id": group, "share.acknowledgement.mode": "explicit"}
    )
    consumer.subscribe([topic])
    try:
        for _ in range(60):
            got = [m for m in consumer.poll(0.5) or [] if not m.error()]
            if got:
                consumer.acknowledge(got[0], AcknowledgeType.ACCEPT)
                consumer.commit_sync()
                break
        else:
            pytest.fail("the share consumer got nothing")
    finally:
        consumer.close()

    client.force_login(admin_user)
    mine = html.unescape(client.get(f"/clusters/secure/share-groups/{group}/").content.decode())
    source = "__share_group_state" if secure.kind == "kafka" else "ReadShareGroupState"
    assert source in mine[mine.index('id="in-flight-note"') :].split("</p>")[0]
    page = client.get(f"/clusters/{LIMITED_SLUG}/share-groups/{group}/")
    assert page.status_code == 200
    text = " ".join(html.unescape(page.content.decode()).split())
    note = text[text.index('id="in-flight-note"') :].split("</p>")[0]
    assert "lack the CLUSTER_ACTION permission on the cluster" in note, note
    assert "read share-partition state" in note
