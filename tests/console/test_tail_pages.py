"""The live-tail pages as HTML: the topic picker and the tail page's wiring."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings

from tests.clusters import (
    Cluster,
    cluster_or_three_nodes,  # noqa: F401 (this module's `cluster`)
)
from tests.console.messages_data import create_topic

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client: Client, admin_user: Any) -> Client:
    client.force_login(admin_user)
    return client


@pytest.fixture
def on_cluster(cluster: Cluster) -> Iterator[Cluster]:
    with override_settings(ODRADEK_LOCAL_BOOTSTRAP=cluster.bootstrap):
        yield cluster


def test_picker_lists_topics(admin: Client, on_cluster: Cluster) -> None:
    topic = create_topic(on_cluster.bootstrap, partitions=1, prefix="pick")
    body = admin.get("/clusters/local/tail/").content.decode()
    assert f'href="/clusters/local/topics/{topic}/tail/"' in body
    assert 'aria-current="page">Live tail' in body


@override_settings(ODRADEK_LOCAL_BOOTSTRAP="127.0.0.1:1")
def test_picker_on_an_unreachable_cluster_says_so(admin: Client) -> None:
    response = admin.get("/clusters/local/tail/")
    assert response.status_code == 200
    assert "is unreachable" in response.content.decode()


def test_tail_page_wiring(admin: Client) -> None:
    body = admin.get(
        "/clusters/local/topics/orders.v1/tail/", {"q": "abc", "back": "50"}
    ).content.decode()
    assert 'data-ws-path="/ws/clusters/local/topics/orders.v1/tail/"' in body
    assert 'value="abc"' in body
    assert '<option value="50" selected>' in body
    assert "new WebSocket" in body
    assert admin.get("/clusters/nowhere/topics/t/tail/").status_code == 404


def test_tail_pages_need_login(client: Client) -> None:
    assert client.get("/clusters/local/tail/").status_code == 302
    assert client.get("/clusters/local/topics/t/tail/").status_code == 302
