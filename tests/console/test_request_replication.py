"""A team member's topic request keeps the copies asked for: through the request and the
admin's approval to the created topic, refused readably where the cluster has too few
brokers; on the three-node Kafka cluster and on the single-node bundled broker."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from console.clusters import local_cluster
from console.kafka import admin
from console.models import AuditEntry, Team, TopicRequest
from reference.cluster import KafkaCluster
from tests.console.topics_helpers import console_on, unique

pytestmark = pytest.mark.django_db

NEW_TOPIC = "/clusters/local/new-topic/"


@pytest.fixture
def member(django_user_model: Any) -> tuple[Team, Any]:
    group = Group.objects.create(name="team:orders")
    team = Team.objects.create(
        name="orders", group=group, topic_prefix=unique("ord") + ".", max_partitions=2
    )
    user = django_user_model.objects.create_user("olga", "", "olga-pass-123")
    user.groups.add(group)
    return team, user


def _ask(client: Client, name: str, partitions: int, copies: int) -> Any:
    return client.post(
        NEW_TOPIC,
        {
            "name": name,
            "partitions": partitions,
            "replication_factor": copies,
            "cleanup_policy": "delete",
        },
        follow=True,
    )


def _copies(name: str) -> list[int]:
    admin.reset()
    return [len(p.replicas) for p in admin.partition_details(local_cluster(), name).partitions]


@pytest.mark.kafka_cluster
def test_a_request_carries_its_copies_to_the_topic_on_three_brokers(
    client: Client, admin_user: Any, member: tuple[Team, Any], kafka_cluster: KafkaCluster
) -> None:
    team, user = member
    name, refused = team.topic_prefix + "wide", team.topic_prefix + "too-wide"
    with console_on(kafka_cluster.bootstrap):
        client.force_login(user)
        too_many = _ask(client, refused, 4, 4)
        assert too_many.status_code == 400
        assert (
            "4 copies of each partition need 4 brokers (each copy is on a different one); "
            "this cluster has 3 brokers."
        ) in too_many.content.decode()
        assert not TopicRequest.objects.filter(topic=refused).exists()

        assert b"went to an admin" in _ask(client, name, 4, 2).content
        req = TopicRequest.objects.get(topic=name)
        assert (req.partitions, req.replication_factor) == (4, 2)
        assert AuditEntry.objects.get(action="request.create").after["replication_factor"] == 2

        client.force_login(admin_user)
        assert b"4 partitions, 2 copies of each" in client.get("/teams/").content
        client.post(f"/teams/requests/{req.pk}/approve/")
        req.refresh_from_db()
        assert req.status == TopicRequest.APPROVED
        assert _copies(name) == [2, 2, 2, 2]
        created = AuditEntry.objects.get(action="topic.create", target=name)
        assert created.after["replication_factor"] == 2


def test_on_the_bundled_broker_a_request_gets_one_copy_and_no_more(
    client: Client, admin_user: Any, member: tuple[Team, Any], shared_broker: Any
) -> None:
    team, user = member
    name, refused = team.topic_prefix + "single", team.topic_prefix + "double"
    with console_on(shared_broker.bootstrap):
        client.force_login(user)
        too_many = _ask(client, refused, 3, 2)
        assert too_many.status_code == 400
        assert "this cluster has 1 broker." in too_many.content.decode()
        assert not TopicRequest.objects.filter(topic=refused).exists()

        _ask(client, name, 3, 1)
        req = TopicRequest.objects.get(topic=name)
        assert req.replication_factor == 1
        client.force_login(admin_user)
        client.post(f"/teams/requests/{req.pk}/approve/")
        req.refresh_from_db()
        assert req.status == TopicRequest.APPROVED
        assert _copies(name) == [1, 1, 1]

        # A request stored with more copies than the brokers (the cluster shrank, say)
        # stays open with the reason rather than failing on the wire.
        stale = TopicRequest.objects.create(
            cluster="local",
            team=team,
            requested_by=user,
            topic=team.topic_prefix + "stale",
            partitions=1,
            replication_factor=3,
        )
        answer = client.post(f"/teams/requests/{stale.pk}/approve/", follow=True)
        assert (
            "Approval failed, the request stays open: 3 copies of each partition need 3 "
            "brokers (each copy is on a different one); this cluster has 1 broker."
        ) in answer.content.decode()
        stale.refresh_from_db()
        assert stale.status == TopicRequest.PENDING
        assert stale.topic not in admin.metadata(local_cluster()).topics
