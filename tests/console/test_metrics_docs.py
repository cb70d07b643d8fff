"""The shipped Grafana dashboard and Prometheus alert rules (`docs/`) only use series
that exist: every metric name their expressions mention appears in a real scrape of the
console's `/metrics` (a group with lag on a real broker) or of that broker's own
`--metrics-listen` endpoint, both parsed with prometheus_client's parser."""

from __future__ import annotations

import json
import re
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from confluent_kafka.admin import AdminClient
from django.test import override_settings

from tests.broker_fixture import BrokerProcess, start_broker
from tests.console import groups_helpers as h
from tests.console.metrics_helpers import lagging_group, parse, scrape

pytestmark = pytest.mark.django_db
DOCS = Path(__file__).resolve().parents[2] / "docs"
NAME = re.compile(r"\b(?:kafka|odradek)_[a-z0-9_]+\b")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def metered(tmp_path: Path) -> Iterator[tuple[BrokerProcess, int]]:
    port = _free_port()
    proc = start_broker(tmp_path / "data", ["--metrics-listen", f"127.0.0.1:{port}"])
    try:
        yield proc, port
    finally:
        if proc.running:
            proc.stop()


def _alert_exprs() -> list[str]:
    rules = yaml.safe_load((DOCS / "prometheus-alerts.yml").read_text())
    exprs = []
    for group in rules["groups"]:
        assert group["name"]
        assert group["rules"]
        for rule in group["rules"]:
            assert rule["alert"]
            assert rule["labels"]["severity"]
            assert rule["annotations"]["summary"]
            exprs.append(rule["expr"])
    return exprs


def _dashboard_exprs() -> list[str]:
    dash = json.loads((DOCS / "grafana-dashboard.json").read_text())
    assert dash["uid"]
    assert dash["schemaVersion"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    exprs += [v["definition"] for v in dash["templating"]["list"] if v["type"] == "query"]
    return exprs


def _names(exprs: list[str]) -> set[str]:
    return {name for expr in exprs for name in NAME.findall(expr)}


def test_docs_use_only_series_that_real_scrapes_expose(
    metered: tuple[BrokerProcess, int],
) -> None:
    proc, port = metered
    lag = lagging_group(proc.bootstrap)
    # One refused request, so the broker has an error series to show.
    admin = AdminClient(h.conf(proc.bootstrap))
    for future in admin.delete_topics([h.unique("absent")]).values():
        with pytest.raises(Exception, match="UNKNOWN_TOPIC"):
            future.result(timeout=h.TIMEOUT)
    with override_settings(
        ODRADEK_LOCAL_BOOTSTRAP=proc.bootstrap, ODRADEK_CLUSTER_TIMEOUT=10, ODRADEK_METRICS_TOKEN=""
    ):
        console = scrape()
    assert any(
        labels.get("consumergroup") == lag.group for labels, _ in console["kafka_consumergroup_lag"]
    )
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        broker = parse(reply.read().decode())

    alerts, dashboard = _names(_alert_exprs()), _names(_dashboard_exprs())
    exposed = set(console) | set(broker)
    assert alerts - exposed == set()
    assert dashboard - exposed == set()
    # Both files cover both sides: lag in time from the console, log size from the broker.
    for used in (alerts, dashboard):
        assert {"kafka_consumer_lag_millis", "kafka_consumergroup_lag_sum"} <= used & set(console)
        assert {"kafka_log_log_size", "kafka_topic_partition_leader"} <= used
        assert "kafka_log_log_size" in broker
