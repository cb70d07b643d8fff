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
from tests.console import groups_helpers as h

pytestmark = pytest.mark.django_db


def _make_share_group(bootstrap: str, topic: str, group: str) -> None:
    command = java_command(
        "org.apache.kafka.tools.consumer.ConsoleShareConsumer",
        [
            *("--bootstrap-server", bootstrap, "--topic", topic, "--group", group),
            *("--max-messages", "1", "--timeout-ms", "2000"),
        ],
    )
    # It exits after its timeout (no new record arrives); joining created the group.
    subprocess.run(command, capture_output=True, timeout=60, check=False)


def test_share_groups_are_listed_apart(cluster: Cluster, client: Client, admin_user: Any) -> None:
    topic = h.make_topic(cluster.bootstrap, partitions=1)
    h.produce(cluster.bootstrap, topic, 0, [int(time.time() * 1000)])
    classic = h.unique("grp-classic")
    h.consume_to(cluster.bootstrap, classic, topic, {0: 1})
    share = h.unique("grp-share")
    _make_share_group(cluster.bootstrap, topic, share)

    shares = {g.group_id: g for g in kg.list_share_groups(h.cluster(cluster.bootstrap))}

    assert classic not in shares
    assert shares[share].type == "SHARE"
    assert shares[share].state == "EMPTY"
    client.force_login(admin_user)
    with override_settings(ODRADEK_LOCAL_BOOTSTRAP=cluster.bootstrap, ODRADEK_CLUSTER_TIMEOUT=10):
        page = client.get("/clusters/local/groups/").content.decode()
    shares_table = page[page.index('id="share-groups"') :]
    consumer_table = page[: page.index('id="share-groups"')]
    assert classic in consumer_table
    assert classic not in shares_table
    assert share in shares_table
