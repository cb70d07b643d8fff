"""The Transactions page through Django's test client, against both clusters: an open
transaction is listed with its partitions' last stable and end offsets and the sentence
of records held back; the main navigation links to it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import Client, override_settings

from console import txn_state
from console.kafka.config import ClusterConfig
from console.kafka.model import OpenTransaction, StableOffsets
from tests.clusters import (
    Cluster,
    cluster_or_three_nodes,  # noqa: F401 (this module's `cluster`)
)
from tests.console import groups_helpers as h
from tests.console import txn_helpers

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_txn(cluster: Cluster) -> Iterator[tuple[str, str]]:
    with (
        override_settings(ODRADEK_LOCAL_BOOTSTRAP=cluster.bootstrap, ODRADEK_CLUSTER_TIMEOUT=10),
        txn_helpers.open_transaction(cluster.bootstrap) as opened,
    ):
        yield opened


def test_the_page_lists_an_open_transaction(
    client: Client, viewer_user: Any, open_txn: Any
) -> None:
    topic, tid = open_txn
    client.force_login(viewer_user)

    page = client.get("/clusters/local/transactions/").content.decode()

    row = page[page.index(tid) :].split("</tr>")[0]
    assert "Ongoing" in row
    assert f"{topic}</a>[0] 2 → 5" in row
    assert f"{topic}</a>[1] 0 → 1" in row
    assert re.search(
        r"4 records not yet visible to read_committed consumers: transaction open \d+", row
    )
    assert "Hanging" not in row  # open seconds, timeout one minute


def test_the_main_navigation_links_to_the_page(client: Client, viewer_user: Any) -> None:
    client.force_login(viewer_user)
    overview = client.get("/clusters/local/").content.decode()
    assert '<a href="/clusters/local/transactions/">Transactions</a>' in overview
    page = client.get("/clusters/local/transactions/")
    nav = {item["key"]: item for item in page.context["nav_items"]}
    assert nav["transactions"]["active"]


def test_an_unknown_cluster_is_404(client: Client, viewer_user: Any) -> None:
    client.force_login(viewer_user)
    assert client.get("/clusters/nowhere/transactions/").status_code == 404


def test_the_topic_page_says_what_read_committed_consumers_cannot_see(
    client: Client, viewer_user: Any, open_txn: Any
) -> None:
    topic, _ = open_txn
    client.force_login(viewer_user)

    page = client.get(f"/clusters/local/topics/{topic}/").content.decode()
    assert f'hx-get="/clusters/local/topics/{topic}/stable/"' in page
    fragment = client.get(f"/clusters/local/topics/{topic}/stable/").content.decode()

    assert re.search(
        r"Partition 0: last stable offset 2, end 5\. 3 records not yet visible to "
        r"read_committed consumers: transaction open \d+",
        fragment,
    )
    assert "Partition 1: last stable offset 0, end 1. 1 record not yet visible" in fragment


def test_the_topic_fragment_is_empty_once_everything_is_committed(
    client: Client, viewer_user: Any, cluster: Cluster
) -> None:
    topic = h.make_topic(cluster.bootstrap, partitions=1)
    h.produce(cluster.bootstrap, topic, 0, [1_700_000_000_000])
    client.force_login(viewer_user)
    with override_settings(ODRADEK_LOCAL_BOOTSTRAP=cluster.bootstrap, ODRADEK_CLUSTER_TIMEOUT=10):
        fragment = client.get(f"/clusters/local/topics/{topic}/stable/").content.decode()
    assert "not yet visible" not in fragment
    assert "Could not" not in fragment


def test_hanging_transactions_are_flagged_on_the_page() -> None:
    now = int(time.time() * 1000)
    stuck = OpenTransaction("stuck", 9, 2, "Ongoing", 60_000, now - 10 * 60_000, (("t", 0),))
    offsets = {("t", 0): StableOffsets(stable=3, end=315)}
    rows = txn_state.rows([stuck], offsets, now)

    html = render_to_string(
        "console/transactions/list.html",
        {
            "cluster": ClusterConfig(slug="local", name="local", bootstrap="127.0.0.1:1"),
            "rows": [(r, [("t", 0, offsets[("t", 0)])]) for r in rows],
            "hanging": 1,
        },
    )

    assert "1 transaction has been open longer than its timeout" in html
    row = html[html.index("<code>stuck</code>") :].split("</tr>")[0]
    assert '<strong class="error">Hanging</strong>' in row
    assert "312 records not yet visible to read_committed consumers: transaction open 10 min" in row
    assert "past its 1 min timeout: it hangs" in row
    assert html.count('<tr class="hanging">') == 1
