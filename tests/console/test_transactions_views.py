"""The Transactions page through Django's test client, against both clusters: an open
transaction is listed with its partitions' last stable and end offsets and the sentence
of records held back; the overview links to it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings

from tests.clusters import Cluster
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


def test_the_overview_links_to_the_page(client: Client, viewer_user: Any, open_txn: Any) -> None:
    client.force_login(viewer_user)
    overview = client.get("/clusters/local/").content.decode()
    assert 'href="/clusters/local/transactions/"' in overview


def test_an_unknown_cluster_is_404(client: Client, viewer_user: Any) -> None:
    client.force_login(viewer_user)
    assert client.get("/clusters/nowhere/transactions/").status_code == 404
