"""Brokers, replication health and replica operations on a real three-node Kafka cluster,
with one node stopped and brought back; and the same pages on the single-node bundled
broker, where they must still make sense."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
)
from django.test import Client, override_settings

from console.clusters import local_cluster
from console.kafka import admin
from console.models import AuditEntry
from reference.cluster import KafkaCluster
from tests.console.topics_helpers import console_on, produce, unique
from tests.kafka_cluster import degraded_node

pytestmark = pytest.mark.django_db


def _topic(bootstrap: str, name: str, partitions: int, rf: int, **configs: str) -> None:
    client = AdminClient({"bootstrap.servers": bootstrap})
    futures = client.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=rf, config=configs)]
    )
    futures[name].result(timeout=30)


def _until(what: str, check: Callable[[], Any], limit_s: float = 60.0) -> Any:
    """Poll a page until `check` returns something true; the cluster notices a stopped
    broker after its session timeout, not at once."""
    deadline = time.monotonic() + limit_s
    while True:
        admin.reset()  # every look is a fresh read, never the cached snapshot
        found = check()
        if found or time.monotonic() > deadline:
            assert found, f"{what} within {limit_s:.0f}s"
            return found
        time.sleep(0.5)  # polling the cluster's own detection, not waiting for time


@pytest.mark.kafka_cluster
def test_brokers_page_lists_three_brokers_with_racks_disks_and_the_controller(
    client: Client, viewer_user: Any, kafka_cluster: KafkaCluster
) -> None:
    client.force_login(viewer_user)
    topic = unique("disk-")
    _topic(kafka_cluster.bootstrap, topic, 3, 3)
    produce(kafka_cluster.bootstrap, topic, 20, size=1000)
    with console_on(kafka_cluster.bootstrap):
        response = client.get("/clusters/local/brokers/")
        # A topic's size is one copy's, not the sum over the three brokers holding it.
        size = admin.partition_details(local_cluster(), topic).size
    assert size is not None
    assert 20_000 <= size < 40_000
    assert response.status_code == 200
    views = response.context["brokers"]
    assert [v.node_id for v in views] == [1, 2, 3]
    assert [v.rack for v in views] == ["rack-a", "rack-b", "rack-c"]
    assert sum(v.controller for v in views) == 1
    assert all(v.reachable for v in views)
    assert [v.address for v in views] == [n.address for n in kafka_cluster.nodes]
    # Every broker holds a copy of every partition of the topic: 20 KB lands on each disk.
    assert all(v.used >= 20_000 and len(v.log_dirs) == 1 for v in views)
    assert all(v.holds >= 3 for v in views)
    assert sum(v.leads for v in views) >= 3
    assert b"rack-b" in response.content
    assert b"not reachable" not in response.content


@pytest.mark.kafka_cluster
def test_every_page_shows_a_stopped_broker_and_recovers_when_it_returns(
    client: Client, viewer_user: Any, kafka_cluster: KafkaCluster
) -> None:
    client.force_login(viewer_user)
    relaxed, strict = unique("relaxed-"), unique("strict-")
    _topic(kafka_cluster.bootstrap, relaxed, 3, 3, **{"min.insync.replicas": "2"})
    _topic(kafka_cluster.bootstrap, strict, 3, 3, **{"min.insync.replicas": "3"})
    down = 3
    with console_on(kafka_cluster.bootstrap):
        healthy = client.get("/clusters/local/health/").context["health"]
        assert healthy.healthy
        assert healthy.missing_brokers == []
        with degraded_node(kafka_cluster, down):
            health = _until(
                "the health page counts the stopped broker's partitions",
                lambda: (
                    h
                    if (
                        h := client.get("/clusters/local/health/").context["health"]
                    ).under_replicated
                    >= 3
                    and h.under_min_isr >= 3
                    else None
                ),
            )
            # Other tests' single-copy topics on the stopped broker may go offline; these
            # three-copy ones never do.
            assert not [
                p for p in health.problems if p.topic in (relaxed, strict) and p.state == "offline"
            ]
            assert health.missing_brokers == [down]
            mine = {(p.topic, p.partition): p for p in health.problems}
            relaxed_0 = mine[(relaxed, 0)]
            assert relaxed_0.state == "under-replicated"
            assert relaxed_0.explanation == (
                "1 copy of 3 is behind: writes with acks=all still succeed while 2 are in "
                "sync (min.insync.replicas=2)."
            )
            assert mine[(strict, 0)].state == "under-min-isr"
            assert "refused" in mine[(strict, 0)].explanation

            page = client.get("/clusters/local/health/").content.decode()
            assert "1 copy of 3 is behind" in page
            overview = client.get("/clusters/local/").content.decode()
            assert "under-replicated" in overview
            assert "under min ISR" in overview
            topic_page = client.get(f"/clusters/local/topics/{strict}/").content.decode()
            assert "copies behind" in topic_page
            assert "(3 copies, 2 in sync)" in topic_page
            brokers = client.get("/clusters/local/brokers/")
            stopped = next(v for v in brokers.context["brokers"] if v.node_id == down)
            assert not stopped.reachable
            assert stopped.log_dirs == []
            assert "1 broker not reachable: broker 3" in brokers.content.decode()
        recovered = _until(
            "the health page is healthy again after the broker returned",
            lambda: (
                h
                if (h := client.get("/clusters/local/health/").context["health"]).healthy
                else None
            ),
            limit_s=120,
        )
        assert recovered.missing_brokers == []
        brokers = client.get("/clusters/local/brokers/").context["brokers"]
        assert all(v.reachable for v in brokers)
        assert "all in sync" in client.get("/clusters/local/").content.decode()


@pytest.mark.kafka_cluster
def test_operations_are_for_admins_only_and_audited(
    client: Client, viewer_user: Any, admin_user: Any, kafka_cluster: KafkaCluster
) -> None:
    topic = unique("moved-")
    _topic(kafka_cluster.bootstrap, topic, 3, 3)
    produce(kafka_cluster.bootstrap, topic, 10)
    url = f"/clusters/local/topics/{topic}/reassign/"
    with console_on(kafka_cluster.bootstrap):
        client.force_login(viewer_user)
        assert client.get(url).status_code == 403
        assert client.post(url, {"broker": ["1", "2"], "factor": "2"}).status_code == 403
        assert client.post("/clusters/local/health/elect/", {"topic": topic}).status_code == 403
        assert not AuditEntry.objects.filter(action__startswith="replicas.").exists()

        client.force_login(admin_user)
        preview = client.get(url, {"broker": ["1", "2"], "factor": "2"})
        assert preview.status_code == 200
        moves = preview.context["moves"]
        assert all(set(m.after) <= {1, 2} and len(m.after) == 2 for m in moves)
        assert all(m.removing == (3,) for m in preview.context["changing"])
        assert b"Start the reassignment" in preview.content
        too_many = client.get(url, {"broker": ["1", "2"], "factor": "3"})
        assert too_many.status_code == 400
        assert b"3 copies need 3 brokers; 2 are chosen." in too_many.content

        started = client.post(url, {"broker": ["1", "2"], "factor": "2"})
        assert started.status_code == 302
        entry = AuditEntry.objects.get(action="replicas.reassign")
        assert entry.user == admin_user
        assert entry.target == f"topic {topic}"

        def placed() -> bool:
            info = admin.partition_details(local_cluster(), topic)
            return all(set(p.replicas) == {1, 2} for p in info.partitions)

        _until("the reassignment finished", placed)
        elected = client.post("/clusters/local/health/elect/", {"topic": topic})
        assert elected.status_code == 302
        assert AuditEntry.objects.filter(action="replicas.elect", target=f"topic {topic}").exists()
        info = admin.partition_details(local_cluster(), topic)
        assert all(p.leader == p.replicas[0] for p in info.partitions)
        assert client.get("/clusters/local/health/").context["moving"] == []


THROTTLE_RATES = ("leader.replication.throttled.rate", "follower.replication.throttled.rate")


@contextmanager
def throttled_replication(bootstrap: str, node_ids: Sequence[int], rate: int) -> Iterator[None]:
    """Every broker copies throttled partitions at `rate` bytes/s for the block; the rates
    are deleted (back to unbounded) after it, whatever happened."""
    client = AdminClient({"bootstrap.servers": bootstrap})

    def alter(operation: AlterConfigOpType) -> None:
        value = str(rate) if operation == AlterConfigOpType.SET else None
        entries = [ConfigEntry(n, value, incremental_operation=operation) for n in THROTTLE_RATES]
        # One broker per request: a broker's dynamic configs are altered by that broker.
        for node in node_ids:
            resource = ConfigResource(
                ConfigResource.Type.BROKER, str(node), incremental_configs=entries
            )
            for future in client.incremental_alter_configs([resource]).values():
                future.result(timeout=30)

    try:
        alter(AlterConfigOpType.SET)
        yield
    finally:
        alter(AlterConfigOpType.DELETE)


@pytest.mark.kafka_cluster
def test_a_slow_reassignment_shows_its_progress_then_done(
    client: Client, admin_user: Any, kafka_cluster: KafkaCluster
) -> None:
    topic = unique("slow-move-")
    # One copy on broker 1, with every copy of the topic subject to the brokers' throttle.
    throttled = {f"{side}.replication.throttled.replicas": "*" for side in ("leader", "follower")}
    creator = AdminClient({"bootstrap.servers": kafka_cluster.bootstrap})
    creating = creator.create_topics(
        [NewTopic(topic, 1, replica_assignment=[[1]], config=throttled)]
    )
    creating[topic].result(timeout=30)
    # Several times a follower's 1 MiB fetch: the throttle holds back the rest.
    produce(kafka_cluster.bootstrap, topic, 400, size=10_000)
    url = f"/clusters/local/topics/{topic}/reassign/"
    client.force_login(admin_user)
    with console_on(kafka_cluster.bootstrap):
        with throttled_replication(kafka_cluster.bootstrap, [1, 2, 3], 10_000):
            started = client.post(url, {"broker": ["2", "3"], "factor": "2"})
            assert started.status_code == 302
            admin.reset()
            health = client.get("/clusters/local/health/")
            (moving,) = [m for m in health.context["moving"] if m.topic == topic]
            assert (moving.partition, set(moving.adding), moving.removing) == (0, {2, 3}, (1,))
            assert set(moving.replicas) == {1, 2, 3}
            row = f'<tr><td>{topic}</td><td class="num">0</td>'
            assert row in health.content.decode()
            # The topic's own page says the same, with how far the new copies have come.
            page = client.get(f"/clusters/local/topics/{topic}/")
            (shown,) = page.context["moving"]
            assert (shown["partition"], set(shown["adding"]), shown["removing"]) == (
                0,
                {2, 3},
                (1,),
            )
            assert set(shown["caught_up"]) < {2, 3}, "throttled: not every new copy caught up"
            assert b"Reassignment in progress" in page.content
            # Unthrottled, this move is over within about a second here; held back, the
            # page keeps showing it, with only the old copy in sync.
            deadline = time.monotonic() + 4.0
            while time.monotonic() < deadline:
                admin.reset()
                again = client.get("/clusters/local/health/").context["moving"]
                assert [m.topic for m in again if m.topic == topic] == [topic]
                assert admin.partition_details(local_cluster(), topic).partitions[0].isr == (1,)
        # Well before the throttle would let the rest through (a chunk per 11 s quota
        # window), so this also shows the rates were lifted.
        _until(
            "the reassignment finished once the throttle was lifted",
            lambda: (
                not [
                    m
                    for m in client.get("/clusters/local/health/").context["moving"]
                    if m.topic == topic
                ]
            ),
            limit_s=20,
        )

        def placed() -> bool:
            # The brokers' metadata follows the controller's within a moment.
            moved = admin.partition_details(local_cluster(), topic).partitions[0]
            return set(moved.replicas) == set(moved.isr) == {2, 3}

        _until("the topic's copies are on brokers 2 and 3, both in sync", placed, limit_s=20)
        page = client.get("/clusters/local/health/").content.decode()
        assert f"<tr><td>{topic}</td>" not in page
        after = client.get(f"/clusters/local/topics/{topic}/")
        assert after.context["moving"] == []
        assert b"Reassignment in progress" not in after.content


def test_pages_on_the_single_node_bundled_broker(
    client: Client, admin_user: Any, shared_broker: Any
) -> None:
    client.force_login(admin_user)
    topic = unique("single-")
    _topic(shared_broker.bootstrap, topic, 2, 1)
    with console_on(shared_broker.bootstrap):
        brokers = client.get("/clusters/local/brokers/")
        assert brokers.status_code == 200
        views = brokers.context["brokers"]
        assert len(views) == 1
        assert views[0].reachable
        assert views[0].controller
        assert b"A single broker: every partition has one copy" in brokers.content
        health = client.get("/clusters/local/health/")
        assert health.status_code == 200
        assert health.context["health"].healthy
        assert b"This cluster has a single broker" in health.content
        assert b"Elect preferred leaders" not in health.content
        assert health.context["moving"] == []
        assert "moving_error" not in health.context
        page = client.get(f"/clusters/local/topics/{topic}/").content.decode()
        assert "Each partition has 1 copy: nothing to fall back on" in page
        assert "Reassign partitions" not in page
        overview = client.get("/clusters/local/").content.decode()
        assert "all in sync" in overview
        form = client.get("/clusters/local/new-topic/").content.decode()
        assert "This cluster has 1 broker" in form
        assert "With a single broker every partition has one copy." in form


@pytest.mark.kafka_cluster
def test_topic_creation_asks_for_copies_and_explains_min_insync_replicas(
    client: Client, admin_user: Any, kafka_cluster: KafkaCluster
) -> None:
    client.force_login(admin_user)
    name = unique("two-copies-")
    with console_on(kafka_cluster.bootstrap):
        form = client.get("/clusters/local/new-topic/")
        text = form.content.decode()
        assert "This cluster has 3 brokers; new topics get 3 copies of each partition" in text
        assert "min.insync.replicas</code> is 1" in text
        assert "up to 2 brokers down" in text
        created = client.post(
            "/clusters/local/new-topic/",
            {
                "name": name,
                "partitions": "2",
                "replication_factor": "2",
                "cleanup_policy": "delete",
            },
        )
        assert created.status_code == 302
        info = admin.partition_details(local_cluster(), name)
        assert [len(p.replicas) for p in info.partitions] == [2, 2]
        entry = AuditEntry.objects.get(action="topic.create", target=name)
        assert entry.after["replication_factor"] == 2
        default = unique("default-copies-")
        client.post(
            "/clusters/local/new-topic/",
            {"name": default, "partitions": "1", "cleanup_policy": "delete"},
        )
        info = admin.partition_details(local_cluster(), default)
        assert len(info.partitions[0].replicas) == 3


@override_settings(ODRADEK_LOCAL_BOOTSTRAP="127.0.0.1:1", ODRADEK_CLUSTER_TIMEOUT=1)
def test_an_unreachable_cluster_gives_a_banner_on_every_new_page(
    client: Client, admin_user: Any
) -> None:
    admin.reset()
    client.force_login(admin_user)
    for url in ("/clusters/local/brokers/", "/clusters/local/health/", "/clusters/local/move/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"is unreachable" in response.content, url
    refused = client.post("/clusters/local/health/elect/", {"topic": "t"})
    assert refused.status_code in (302, 404)
    assert not AuditEntry.objects.filter(action__startswith="replicas.").exists()


def test_the_move_page_asks_for_a_target_cluster_first(
    client: Client, viewer_user: Any, shared_broker: Any
) -> None:
    client.force_login(viewer_user)
    with console_on(shared_broker.bootstrap):
        page = client.get("/clusters/local/move/")
    assert page.status_code == 200
    assert b"Add the target cluster" in page.content
    assert "mirror_properties" not in page.context
