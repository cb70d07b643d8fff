"""The message browser and produce form in Chromium: htmx swaps, shareable URLs, show all."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from tests.clusters import (
    Cluster,
    cluster_or_three_nodes,  # noqa: F401 (this module's `cluster`)
)
from tests.console.conftest import login
from tests.console.messages_data import known_topic

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def on_cluster(cluster: Cluster) -> Iterator[Cluster]:
    with override_settings(ODRADEK_LOCAL_BOOTSTRAP=cluster.bootstrap):
        yield cluster


def test_browse_filter_page_and_produce(
    page: Any, live_server: Any, admin_user: Any, on_cluster: Cluster
) -> None:
    topic = known_topic(on_cluster.bootstrap)
    base = live_server.url
    login(page, base, "admin", "admin-pass-123")
    page.goto(f"{base}/clusters/local/topics/{topic}/messages/?start=oldest&limit=10")
    assert page.locator("table.records tbody tr").count() == 10
    assert page.locator("details.json").count() > 0
    # Compact: every record is one row of text until clicked open.
    heights = page.eval_on_selector_all(
        "table.records tbody tr", "rows => rows.map(r => r.getBoundingClientRect().height)"
    )
    assert max(heights) < 80, heights
    page.locator("details.json summary").first.click()
    assert page.locator("details.json[open] pre").first.is_visible()

    # A filter is applied in place by htmx, and the address bar becomes a shareable link.
    page.fill("#id_q", "plain text")
    page.click("form.msg-query button[type=submit]")
    page.wait_for_function("document.querySelectorAll('table.records tbody tr').length === 6")
    assert "q=plain%20text" in page.url
    assert "Showing 6 records" in page.inner_text("#results")

    # Paging keeps the filter: newest first, then one page older.
    page.goto(f"{base}/clusters/local/topics/{topic}/messages/?start=newest&limit=20")
    assert page.locator("table.records tbody tr").count() == 20
    page.click("a[rel=prev]")
    page.wait_for_function("document.querySelectorAll('table.records tbody tr').length === 10")
    assert "dir=back" in page.url

    # Produce: invalid JSON is refused with a sentence; valid JSON lands with its offset.
    page.goto(f"{base}/clusters/local/topics/{topic}/produce/")
    page.fill("#id_partition", "1")
    page.fill("#id_value", "{broken")
    page.select_option("#id_value_format", "json")
    page.click("form.produce button[type=submit]")
    page.wait_for_selector("ul.error")
    assert "not valid JSON" in page.inner_text("#produce")
    page.fill("#id_value", '{"from": "the browser"}')
    page.select_option("#id_value_format", "json")
    page.click("form.produce button[type=submit]")
    page.wait_for_selector("#produced")
    assert "partition 1 at offset 15" in page.inner_text("#produced")
    page.click("#produced a")
    assert "the browser" in page.inner_text("table.records")


def test_show_all_of_a_record_gone_meanwhile_says_so(
    page: Any, live_server: Any, admin_user: Any, on_cluster: Cluster
) -> None:
    from confluent_kafka import Producer, TopicPartition
    from confluent_kafka.admin import AdminClient

    from tests.console.messages_data import create_topic

    topic = create_topic(on_cluster.bootstrap, partitions=1)
    producer = Producer({"bootstrap.servers": on_cluster.bootstrap})
    producer.produce(topic, b"long " * 1000, partition=0)
    producer.produce(topic, b"next", partition=0)
    assert producer.flush(15) == 0
    login(page, live_server.url, "admin", "admin-pass-123")
    page.goto(f"{live_server.url}/clusters/local/topics/{topic}/messages/?start=oldest")
    page.locator("td.val details summary").first.click()  # the record opens on click
    show_all = page.locator("#v-0-0 button.show-all")
    assert show_all.is_visible()
    # The record is deleted between the page and the click: the refusal is shown in place
    # (htmx alone would drop the answer, which comes with an error status).
    admin = AdminClient({"bootstrap.servers": on_cluster.bootstrap})
    done = admin.delete_records([TopicPartition(topic, 0, 1)])
    for future in done.values():
        future.result(timeout=15)
    show_all.click()
    page.wait_for_selector("#v-0-0 p.error")
    assert "no record at offset 0" in page.inner_text("#v-0-0")
