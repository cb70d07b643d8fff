"""One set of clients per cluster: made once, replaced when the cluster is edited, and
forgotten together with every figure cached about the cluster."""

from __future__ import annotations

import time
from dataclasses import replace

from console.kafka import admin, clients, groups, records
from tests.clusters import (
    Cluster,
    cluster_or_three_nodes,  # noqa: F401 (this module's `cluster`)
)
from tests.console import groups_helpers as h


def test_one_set_of_clients_per_cluster_forgotten_with_its_figures(cluster: Cluster) -> None:
    config = h.cluster(cluster.bootstrap)
    topic = h.make_topic(cluster.bootstrap, partitions=1)
    stamp = int(time.time() * 1000) - 60_000
    h.produce(cluster.bootstrap, topic, 0, [stamp])

    first = clients.of(config)
    groups.list_groups(config)
    assert records.record_timestamps(config, {(topic, 0): 0}) == {(topic, 0): stamp}
    assert clients.of(config) is first  # the groups pages and the peek share it

    edited = replace(config, timeout_s=config.timeout_s + 1)
    assert clients.of(edited) is not first  # new settings, new clients
    admin.forget_cluster(edited)

    assert records.cached_timestamps(edited, {(topic, 0): 0}) == {}
    assert clients.of(edited) is not first
    assert topic in {t for t in admin.metadata(edited).topics}  # connects afresh
    admin.forget_cluster(edited)
