"""Aborting a hanging transaction from the console: the gateway writes abort markers on
Apache Kafka and on Odradek (both advertise WriteTxnMarkers) so read_committed consumers
see past it; only administrators may abort, and every abort is audited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient
from django.test import Client, override_settings

from console.kafka import transactions as kt
from console.kafka import txn_abort
from console.models import AuditEntry
from tests.clusters import (
    Cluster,
    cluster_or_three_nodes,  # noqa: F401 (this module's `cluster`)
)
from tests.console import groups_helpers as h
from tests.console import txn_helpers

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_txn(cluster: Cluster) -> Iterator[tuple[Cluster, str, str]]:
    with (
        override_settings(ODRADEK_LOCAL_BOOTSTRAP=cluster.bootstrap, ODRADEK_CLUSTER_TIMEOUT=10),
        txn_helpers.open_transaction(cluster.bootstrap) as (topic, tid),
    ):
        yield cluster, topic, tid


def _mine(bootstrap: str, tid: str) -> kt.OpenTransaction:
    view = kt.open_transactions(h.cluster(bootstrap))
    return next(t for t in view.transactions if t.transactional_id == tid)


def test_support_follows_what_the_cluster_advertises(cluster: Cluster) -> None:
    assert txn_abort.supported(h.cluster(cluster.bootstrap))


def test_an_admin_aborts_after_a_preview_and_the_abort_is_audited(
    client: Client, admin_user: Any, open_txn: Any
) -> None:
    cluster, topic, tid = open_txn
    client.force_login(admin_user)
    url = f"/clusters/local/transactions/{tid}/abort/"

    listing = client.get("/clusters/local/transactions/").content.decode()
    preview = client.get(url)

    assert url in listing
    body = preview.content.decode()
    assert f"{topic}[0]" in body
    assert "4 records" in body
    # Kafka places a topic's partitions on consecutive brokers: on three nodes the
    # markers go to two different leaders.
    metadata = AdminClient(h.conf(cluster.bootstrap)).list_topics(topic, timeout=10)
    leaders = {p.leader for p in metadata.topics[topic].partitions.values()}
    assert len(leaders) == min(2, cluster.nodes)
    done = client.post(url)
    assert done.status_code == 302
    offsets = kt.topic_stable_offsets(h.cluster(cluster.bootstrap), topic)
    assert offsets[(topic, 0)].held_back == 0
    assert offsets[(topic, 1)].held_back == 0
    entry = AuditEntry.objects.get(action="transaction.abort")
    assert (entry.target, entry.username) == (tid, "admin")


def test_a_viewer_may_not_abort(client: Client, viewer_user: Any, open_txn: Any) -> None:
    cluster, _, tid = open_txn
    client.force_login(viewer_user)
    url = f"/clusters/local/transactions/{tid}/abort/"

    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    assert _mine(cluster.bootstrap, tid).state == "Ongoing"
    assert not AuditEntry.objects.filter(action="transaction.abort").exists()
