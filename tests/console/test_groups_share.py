"""Share groups (KIP-932) appear on the groups page apart from consumer groups.

A share group is made on both clusters with Kafka's own console share consumer.
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

import pytest
from django.test import Client, override_settings

from console.kafka import groups as kg
from reference.launcher import java_command
from tests.clusters import (
    Cluster,
    cluster_or_three_nodes,  # noqa: F401 (this module's `cluster`)
)
from tests.console import coordinators
from tests.console import groups_helpers as h

pytestmark = pytest.mark.django_db


def _make_share_groups(bootstrap: str, topic: str, groups: list[str]) -> None:
    """One console share consumer per group, side by side (each is a JVM start)."""
    consumers = [
        subprocess.Popen(
            java_command(
                "org.apache.kafka.tools.consumer.ConsoleShareConsumer",
                [
                    *("--bootstrap-server", bootstrap, "--topic", topic, "--group", group),
                    *("--max-messages", "1", "--timeout-ms", "2000"),
                ],
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for group in groups
    ]
    # Each exits after its timeout (no new record arrives); joining created the group.
    for consumer in consumers:
        consumer.wait(timeout=60)


def test_share_groups_are_listed_apart(cluster: Cluster, client: Client, admin_user: Any) -> None:
    topic = h.make_topic(cluster.bootstrap, partitions=1)
    h.produce(cluster.bootstrap, topic, 0, [int(time.time() * 1000)])
    classic = h.unique("grp-classic")
    h.consume_to(cluster.bootstrap, classic, topic, {0: 1})
    # On three nodes each broker coordinates one of them: the listing asks every broker.
    per_node = coordinators.ids_per_node(cluster.bootstrap, coordinators.GROUPS_TOPIC, "grp-share")
    assert len(per_node) == cluster.nodes
    _make_share_groups(cluster.bootstrap, topic, list(per_node.values()))

    shares = {g.group_id: g for g in kg.list_share_groups(h.cluster(cluster.bootstrap))}

    assert classic not in shares
    for share in per_node.values():
        assert (shares[share].type, shares[share].state) == ("SHARE", "EMPTY")
    client.force_login(admin_user)
    with override_settings(ODRADEK_LOCAL_BOOTSTRAP=cluster.bootstrap, ODRADEK_CLUSTER_TIMEOUT=10):
        page = client.get("/clusters/local/groups/").content.decode()
    shares_table = page[page.index('id="share-groups"') :]
    consumer_table = page[: page.index('id="share-groups"')]
    assert classic in consumer_table
    assert classic not in shares_table
    assert all(share in shares_table for share in per_node.values())
