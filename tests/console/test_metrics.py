"""The console's `/metrics`: who may scrape it (bearer token, loopback only without one,
proxy-aware), kafka_exporter's names, HELP and labels plus `cluster`, lag values for a
group with known lag on both clusters, the lag sampler's fresh pass preferred over a
measurement, and an unreachable cluster reported as down instead of failing the scrape."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client, override_settings
from prometheus_client.parser import text_string_to_metric_families

from console.clusters import local_cluster
from console.lag.sampler import sample_cluster
from console.models import Cluster as ClusterRow
from tests.broker_fixture import BrokerProcess
from tests.clients.offline import DAMAGED, RECORDS, make_damaged
from tests.clusters import Cluster
from tests.console import groups_helpers as h
from tests.console.metrics_helpers import MINUTE, lagging_group, scrape, value

pytestmark = pytest.mark.django_db
DEAD = "127.0.0.1:1"
TOKEN = "s3cret-token-for-tests"

# kafka_exporter's series (exporter.go, danielqsj/kafka_exporter): name -> (HELP, labels),
# `cluster` added by the console.
EXPORTER = {
    "kafka_brokers": ("Number of Brokers in the Kafka Cluster.", set()),
    "kafka_topic_partitions": ("Number of partitions for this Topic", {"topic"}),
    "kafka_topic_partition_current_offset": (
        "Current Offset of a Broker at Topic/Partition",
        {"topic", "partition"},
    ),
    "kafka_topic_partition_oldest_offset": (
        "Oldest Offset of a Broker at Topic/Partition",
        {"topic", "partition"},
    ),
    "kafka_topic_partition_leader": (
        "Leader Broker ID of this Topic/Partition",
        {"topic", "partition"},
    ),
    "kafka_consumergroup_current_offset": (
        "Current Offset of a ConsumerGroup at Topic/Partition",
        {"consumergroup", "topic", "partition"},
    ),
    "kafka_consumergroup_current_offset_sum": (
        "Current Offset of a ConsumerGroup at Topic for all partitions",
        {"consumergroup", "topic"},
    ),
    "kafka_consumergroup_lag": (
        "Current Approximate Lag of a ConsumerGroup at Topic/Partition",
        {"consumergroup", "topic", "partition"},
    ),
    "kafka_consumergroup_lag_sum": (
        "Current Approximate Lag of a ConsumerGroup at Topic for all partitions",
        {"consumergroup", "topic"},
    ),
    "kafka_consumergroup_members": ("Amount of members in a consumer group", {"consumergroup"}),
    "kafka_consumer_lag_millis": (
        "Current approximation of consumer lag for a ConsumerGroup at Topic/Partition",
        {"consumergroup", "topic", "partition"},
    ),
}


@pytest.fixture
def on_cluster(cluster: Cluster) -> Iterator[Cluster]:
    with override_settings(ODRADEK_LOCAL_BOOTSTRAP=cluster.bootstrap, ODRADEK_CLUSTER_TIMEOUT=10):
        yield cluster


@override_settings(
    ODRADEK_LOCAL_BOOTSTRAP=DEAD, ODRADEK_CLUSTER_TIMEOUT=1, ODRADEK_METRICS_TOKEN=""
)
def test_without_token_only_loopback_clients_are_answered() -> None:
    assert Client(REMOTE_ADDR="10.0.0.5").get("/metrics").status_code == 403
    # Without the proxy setting a forged X-Forwarded-For changes nothing.
    forged = Client(REMOTE_ADDR="10.0.0.5").get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert forged.status_code == 403
    # A proxy on this host, the console not told of it: every client would be loopback.
    for header in ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP"):
        proxied = Client(REMOTE_ADDR="127.0.0.1").get("/metrics", **{header: "203.0.113.9"})
        assert proxied.status_code == 403, header
    assert Client(REMOTE_ADDR="::1").get("/metrics").status_code == 200
    series = scrape(Client(REMOTE_ADDR="127.0.0.1"))
    # The bundled broker is unreachable: reported down, not a 500.
    assert value(series, "odradek_cluster_up", cluster="local") == 0
    assert "kafka_brokers" not in series


@override_settings(
    ODRADEK_LOCAL_BOOTSTRAP=DEAD,
    ODRADEK_CLUSTER_TIMEOUT=1,
    ODRADEK_METRICS_TOKEN="",
    ODRADEK_BEHIND_TLS_PROXY=True,
)
def test_behind_a_proxy_the_forwarded_client_must_be_loopback() -> None:
    via_proxy = Client(REMOTE_ADDR="127.0.0.1")
    remote = via_proxy.get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1, 203.0.113.9")
    assert remote.status_code == 403
    local = via_proxy.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9, 127.0.0.1")
    assert local.status_code == 200


@override_settings(
    ODRADEK_LOCAL_BOOTSTRAP=DEAD, ODRADEK_CLUSTER_TIMEOUT=1, ODRADEK_METRICS_TOKEN=TOKEN
)
def test_token_is_required_and_checked_from_anywhere() -> None:
    for client in (Client(REMOTE_ADDR="127.0.0.1"), Client(REMOTE_ADDR="10.0.0.5")):
        missing = client.get("/metrics")
        assert missing.status_code == 401
        assert missing["WWW-Authenticate"].startswith("Bearer")
        for wrong in (f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer "):
            assert client.get("/metrics", HTTP_AUTHORIZATION=wrong).status_code == 401
        ok = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert ok.status_code == 200
        assert b"odradek_cluster_up" in ok.content


@override_settings(
    ODRADEK_LOCAL_BOOTSTRAP=DEAD, ODRADEK_CLUSTER_TIMEOUT=1, ODRADEK_METRICS_TOKEN=""
)
def test_metrics_need_no_login_and_refuse_other_methods() -> None:
    client = Client(REMOTE_ADDR="127.0.0.1")
    assert client.get("/metrics").status_code == 200  # no redirect to the login page
    assert client.post("/metrics").status_code == 405


def test_lag_series_for_a_group_with_known_lag(on_cluster: Cluster) -> None:
    lag = lagging_group(on_cluster.bootstrap)
    ClusterRow.objects.create(slug="gone", name="Gone", bootstrap_servers=DEAD)
    with override_settings(ODRADEK_METRICS_TOKEN=""):
        series = scrape()
    assert value(series, "odradek_cluster_up", cluster="local") == 1
    assert value(series, "odradek_cluster_up", cluster="gone") == 0
    assert value(series, "odradek_consumergroup_lag_age_seconds", cluster="local") == 0
    assert value(series, "kafka_brokers", cluster="local") >= 1
    g = {"cluster": "local", "consumergroup": lag.group, "topic": lag.topic}
    t = {"cluster": "local", "topic": lag.topic}
    assert value(series, "kafka_topic_partitions", **t) == 2
    for p, n in lag.produced.items():
        part = str(p)
        assert value(series, "kafka_topic_partition_current_offset", **t, partition=part) == n
        assert value(series, "kafka_topic_partition_oldest_offset", **t, partition=part) == 0
        assert value(series, "kafka_topic_partition_leader", **t, partition=part) >= 0
        committed = lag.committed[p]
        assert value(series, "kafka_consumergroup_current_offset", **g, partition=part) == committed
        assert value(series, "kafka_consumergroup_lag", **g, partition=part) == n - committed
    assert value(series, "kafka_consumergroup_lag_sum", **g) == 10 - 3
    assert value(series, "kafka_consumergroup_current_offset_sum", **g) == 3 + 4
    assert (
        value(series, "kafka_consumergroup_members", cluster="local", consumergroup=lag.group) == 0
    )
    # Partition 0's first unread record (offset 3) was written 17 minutes ago.
    millis = value(series, "kafka_consumer_lag_millis", **g, partition="0")
    assert 17 * MINUTE <= millis < 18 * MINUTE
    assert value(series, "kafka_consumer_lag_millis", **g, partition="1") == 0


def test_names_help_and_labels_are_kafka_exporters(on_cluster: Cluster) -> None:
    lagging_group(on_cluster.bootstrap)
    with override_settings(ODRADEK_METRICS_TOKEN=""):
        reply = Client(REMOTE_ADDR="127.0.0.1").get("/metrics")
    families = {f.name: f for f in text_string_to_metric_families(reply.content.decode())}
    for name, (help_text, labels) in EXPORTER.items():
        family = families[name]
        assert family.type == "gauge"
        assert family.documentation == help_text
        assert family.samples, name
        for sample in family.samples:
            assert set(sample.labels) == labels | {"cluster"}, (name, sample.labels)


def test_a_fresh_sampler_pass_is_served_instead_of_measuring(on_cluster: Cluster) -> None:
    lag = lagging_group(on_cluster.bootstrap)
    g = {"cluster": "local", "consumergroup": lag.group, "topic": lag.topic, "partition": "0"}
    now = datetime.now(UTC)
    sample_cluster(local_cluster(), now - timedelta(seconds=30))
    # Five more records after the pass: the scrape shows the pass, and says how old it is.
    h.produce(on_cluster.bootstrap, lag.topic, 0, [int(time.time() * 1000)] * 5)
    with override_settings(ODRADEK_METRICS_TOKEN=""):
        series = scrape()
    assert value(series, "kafka_consumergroup_lag", **g) == 7
    assert 30 <= value(series, "odradek_consumergroup_lag_age_seconds", cluster="local") < 90
    assert (
        value(
            series,
            "kafka_topic_partition_current_offset",
            cluster="local",
            topic=lag.topic,
            partition="0",
        )
        == 15
    )


def test_a_stale_sampler_pass_is_measured_again(on_cluster: Cluster) -> None:
    lag = lagging_group(on_cluster.bootstrap)
    sample_cluster(local_cluster(), datetime.now(UTC) - timedelta(minutes=5))
    h.produce(on_cluster.bootstrap, lag.topic, 0, [int(time.time() * 1000)] * 5)
    with override_settings(ODRADEK_METRICS_TOKEN=""):
        series = scrape()
    g = {"cluster": "local", "consumergroup": lag.group, "topic": lag.topic, "partition": "0"}
    assert value(series, "kafka_consumergroup_lag", **g) == 12
    assert value(series, "odradek_consumergroup_lag_age_seconds", cluster="local") == 0


def test_an_offline_partition_has_leader_minus_one(broker: BrokerProcess) -> None:
    make_damaged(broker)
    with override_settings(
        ODRADEK_LOCAL_BOOTSTRAP=broker.bootstrap,
        ODRADEK_CLUSTER_TIMEOUT=10,
        ODRADEK_METRICS_TOKEN="",
    ):
        series = scrape()
    offline = {"cluster": "local", "topic": DAMAGED, "partition": "0"}
    online = {"cluster": "local", "topic": DAMAGED, "partition": "1"}
    assert value(series, "odradek_cluster_up", cluster="local") == 1
    assert value(series, "kafka_topic_partition_leader", **offline) == -1
    assert value(series, "kafka_topic_partition_leader", **online) >= 0
    # Its offsets cannot be read: no figure rather than a made-up one.
    assert not [s for s in series["kafka_topic_partition_current_offset"] if s[0] == offline]
    assert value(series, "kafka_topic_partition_current_offset", **online) == RECORDS
