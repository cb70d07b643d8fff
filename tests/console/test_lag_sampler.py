"""The lag sampler against both clusters: samples stored, commits noticed, alerts raised
and cleared with a real webhook receiver and audit entries, old samples pruned, and the
management command doing one pass."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from console.clusters import ClusterConfig
from console.lag import history
from console.lag.models import CommitSeen, GroupSample, LagAlert, PartitionSample
from console.lag.sampler import prune, sample_cluster
from console.management.commands.runstack import children
from console.models import AuditEntry
from tests.clusters import (
    Cluster,
    cluster_or_three_nodes,  # noqa: F401 (this module's `cluster`)
)
from tests.console import groups_helpers as h

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class Receiver:
    """A real HTTP server on 127.0.0.1 that keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _cfg(cluster: Cluster) -> ClusterConfig:
    return ClusterConfig(slug="test", name=cluster.name, bootstrap=cluster.bootstrap)


def test_samples_are_stored_and_commit_moves_noticed(cluster: Cluster) -> None:
    topic = h.make_topic(cluster.bootstrap, partitions=2)
    now_ms = int(time.time() * 1000)
    for p in range(2):
        h.produce(cluster.bootstrap, topic, p, [now_ms] * 8)
    group = h.unique("grp-sample")
    h.consume_to(cluster.bootstrap, group, topic, {0: 2, 1: 8})

    sample_cluster(_cfg(cluster), T0)
    h.consume_to(cluster.bootstrap, group, topic, {0: 5})
    sample_cluster(_cfg(cluster), T0 + timedelta(seconds=30))

    samples = list(GroupSample.objects.filter(group=group).order_by("at"))
    assert [(s.lag, s.committed_sum, s.end_sum, s.partitions) for s in samples] == [
        (6, 10, 16, 2),
        (3, 13, 16, 2),
    ]
    assert PartitionSample.objects.filter(group=group).count() == 4
    seen = {c.partition: c.changed_at for c in CommitSeen.objects.filter(group=group)}
    assert seen == {0: T0 + timedelta(seconds=30), 1: T0}
    rate = history.rates("test", group, T0 + timedelta(seconds=30))
    assert rate.consume == pytest.approx(3 / 30)
    assert rate.produce == 0
    assert history.trend("test", group, 3, T0 + timedelta(minutes=5)) == "down"


@override_settings(ODRADEK_WEBHOOK_ALLOW_PRIVATE=True)  # the receiver listens on loopback
def test_alert_raises_then_clears_with_webhook_and_audit(
    cluster: Cluster, receiver: Receiver
) -> None:
    topic = h.make_topic(cluster.bootstrap, partitions=1)
    h.produce(cluster.bootstrap, topic, 0, [int(time.time() * 1000)] * 10)
    group = h.unique("grp-alert")
    h.consume_to(cluster.bootstrap, group, topic, {0: 2})
    LagAlert.objects.create(
        cluster="test", group=group, max_lag_messages=5, webhook_url=receiver.url
    )

    sample_cluster(_cfg(cluster), T0)

    alert = LagAlert.objects.get(group=group)
    assert alert.firing
    assert alert.since == T0
    assert alert.last_lag == 8
    assert [b["event"] for b in receiver.bodies] == ["lag_alert.raised"]
    assert receiver.bodies[0]["group"] == group
    assert receiver.bodies[0]["lag_messages"] == 8
    raised = AuditEntry.objects.get(action="lag_alert.raised")
    assert raised.target == f"group:{group}"
    assert "8 messages behind (threshold 5)" in raised.detail

    # Still behind: no second webhook, no second audit entry.
    sample_cluster(_cfg(cluster), T0 + timedelta(seconds=30))
    assert len(receiver.bodies) == 1

    h.consume_to(cluster.bootstrap, group, topic, {0: 9})
    sample_cluster(_cfg(cluster), T0 + timedelta(seconds=60))

    alert.refresh_from_db()
    assert not alert.firing
    assert alert.last_webhook_error == ""
    assert [b["event"] for b in receiver.bodies] == ["lag_alert.raised", "lag_alert.cleared"]
    assert receiver.bodies[1]["lag_messages"] == 1
    cleared = AuditEntry.objects.get(action="lag_alert.cleared")
    assert cleared.before["firing"] is True
    assert cleared.after["firing"] is False


@override_settings(ODRADEK_WEBHOOK_ALLOW_PRIVATE=True)
def test_alert_in_time_and_a_failing_webhook_is_kept_not_raised(cluster: Cluster) -> None:
    topic = h.make_topic(cluster.bootstrap, partitions=1)
    old = int(time.time() * 1000) - 3_600_000
    h.produce(cluster.bootstrap, topic, 0, [old, old + 1000])
    group = h.unique("grp-alert-time")
    h.consume_to(cluster.bootstrap, group, topic, {0: 1})
    # Nothing listens on port 1: the webhook fails, the alert still changes state.
    LagAlert.objects.create(
        cluster="test", group=group, max_lag_seconds=600, webhook_url="http://127.0.0.1:1/x"
    )

    sample_cluster(_cfg(cluster), datetime.now(UTC), webhook_timeout=2)

    alert = LagAlert.objects.get(group=group)
    assert alert.firing
    assert "s old (threshold 600 s)" in AuditEntry.objects.get(action="lag_alert.raised").detail
    assert "Connection refused" in alert.last_webhook_error


def test_firing_alert_shows_on_overview_and_group_page(
    cluster: Cluster, client: Client, admin_user: Any
) -> None:
    topic = h.make_topic(cluster.bootstrap, partitions=1)
    h.produce(cluster.bootstrap, topic, 0, [int(time.time() * 1000)] * 4)
    group = h.unique("grp-alert-page")
    h.consume_to(cluster.bootstrap, group, topic, {0: 1})
    LagAlert.objects.create(cluster="local", group=group, max_lag_messages=1)
    local = ClusterConfig(slug="local", name="local", bootstrap=cluster.bootstrap)
    sample_cluster(local, T0)
    client.force_login(admin_user)
    with override_settings(ODRADEK_LOCAL_BOOTSTRAP=cluster.bootstrap):
        overview = client.get("/clusters/local/").content.decode()
        detail = client.get(f"/clusters/local/groups/{group}/").content.decode()
        listing = client.get("/clusters/local/groups/").content.decode()
    assert "Lag alerts firing" in overview
    assert detail.count("<polyline") == 0  # one sample: not enough for a line yet
    assert "not enough samples yet" in detail
    assert group in overview
    assert "Lag alert: " in detail
    assert "lag alert firing" in listing


def test_prune_deletes_only_old_samples() -> None:
    for minutes in (0, 10, 120):
        at = T0 - timedelta(minutes=minutes)
        GroupSample.objects.create(
            cluster="c", group="g", at=at, lag=1, committed_sum=0, end_sum=1, partitions=1
        )
        PartitionSample.objects.create(
            cluster="c", group="g", topic="t", partition=0, at=at, committed=0, end=1, lag=1
        )
    assert prune(T0 - timedelta(minutes=60)) == 2
    assert sorted(s.at for s in GroupSample.objects.all()) == [
        T0 - timedelta(minutes=10),
        T0,
    ]


def test_command_samples_once(cluster: Cluster, capsys: Any) -> None:
    topic = h.make_topic(cluster.bootstrap, partitions=1)
    h.produce(cluster.bootstrap, topic, 0, [int(time.time() * 1000)] * 3)
    group = h.unique("grp-cmd")
    h.consume_to(cluster.bootstrap, group, topic, {0: 1})
    with override_settings(ODRADEK_LOCAL_BOOTSTRAP=cluster.bootstrap):
        call_command("sample_lag", "--once", "--cluster", "local")
    assert "local: sampled" in capsys.readouterr().out
    assert GroupSample.objects.get(cluster="local", group=group).lag == 2


def test_command_survives_an_unreachable_cluster(caplog: Any) -> None:
    with override_settings(ODRADEK_LOCAL_BOOTSTRAP="127.0.0.1:1"):
        call_command("sample_lag", "--once", "--cluster", "local")
    assert "lag sample of cluster local failed" in caplog.text


def test_command_loops_until_sigterm_then_exits_cleanly(cluster: Cluster, tmp_path: Any) -> None:
    manage = [sys.executable, str(Path(__file__).resolve().parents[2] / "manage.py")]
    env = {**os.environ, "ODRADEK_HOME": str(tmp_path), "ODRADEK_BOOTSTRAP": cluster.bootstrap}
    env.pop("DATABASE_URL", None)
    subprocess.run([*manage, "migrate", "--noinput"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen(
        [*manage, "sample_lag", "--interval", "0.3", "--cluster", "local"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        rounds = [proc.stdout.readline() for _ in range(2)]  # blocks until two rounds ran
        assert all(line.startswith("local: sampled") for line in rounds), rounds
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_history_charts_draw_after_two_samples(
    cluster: Cluster, client: Client, admin_user: Any
) -> None:
    topic = h.make_topic(cluster.bootstrap, partitions=1)
    h.produce(cluster.bootstrap, topic, 0, [int(time.time() * 1000)] * 4)
    group = h.unique("grp-chart")
    h.consume_to(cluster.bootstrap, group, topic, {0: 1})
    local = ClusterConfig(slug="local", name="local", bootstrap=cluster.bootstrap)
    now = datetime.now(UTC)
    sample_cluster(local, now - timedelta(minutes=2))
    h.consume_to(cluster.bootstrap, group, topic, {0: 3})
    sample_cluster(local, now - timedelta(minutes=1))
    client.force_login(admin_user)
    with override_settings(ODRADEK_LOCAL_BOOTSTRAP=cluster.bootstrap):
        detail = client.get(f"/clusters/local/groups/{group}/").content.decode()
    assert detail.count("<svg") == 2
    assert 'aria-label="Lag over the last 24 hours"' in detail
    assert detail.count("<polyline") == 3  # lag; consumed and produced rates


def test_make_run_supervises_the_sampler() -> None:
    names = {name: argv for name, argv in children()}
    assert names["lag-sampler"][-1] == "sample_lag"


def test_groups_with_ids_longer_than_the_tables_hold_are_not_sampled(cluster: Cluster) -> None:
    """Kafka allows group ids of any length; the sample tables hold 255 characters.
    Sampling goes on for the other groups."""
    topic = h.make_topic(cluster.bootstrap, partitions=1)
    h.produce(cluster.bootstrap, topic, 0, [int(time.time() * 1000)] * 4)
    short = h.unique("grp-short")
    long = h.unique("grp-long-") + "x" * 300
    h.consume_to(cluster.bootstrap, short, topic, {0: 1})
    h.consume_to(cluster.bootstrap, long, topic, {0: 2})

    lags = sample_cluster(_cfg(cluster), T0)

    assert {short, long} <= {g.description.group_id for g in lags}
    assert GroupSample.objects.filter(group=short).count() == 1
    assert not GroupSample.objects.filter(group__startswith="grp-long-").exists()
