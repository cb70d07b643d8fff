"""A person watches a share group drain in Chromium, on both real clusters: the share
group's page shows its whole backlog waiting, a share consumer starts acknowledging, and
the page's five-second refresh shows the records waiting fall to 0, never rising, while
the consumer is listed as a member."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from confluent_kafka import AcknowledgeType
from django.test import override_settings

from console.kafka import shares
from tests.clusters import cluster_or_three_nodes  # noqa: F401 (this module's `cluster`)
from tests.console import groups_helpers as h
from tests.console import share_helpers as s
from tests.console.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
RECORDS = 300
DRAIN_S = 90.0


def _drain(bootstrap: str, group: str, topic: str, done: threading.Event, out: list[int]) -> None:
    """Accept every record until all are acknowledged; stay a member until `done`."""
    consumer = s.member(bootstrap, group, topic)
    try:
        deadline = time.monotonic() + DRAIN_S
        while len(out) < RECORDS and time.monotonic() < deadline:
            got = [m for m in consumer.poll(0.5) or [] if not m.error()]
            for msg in got:
                consumer.acknowledge(msg, AcknowledgeType.ACCEPT)
                out.append(msg.offset())
            if got:
                consumer.commit_sync()
        done.wait(DRAIN_S)
    finally:
        consumer.close()


def test_backlog_drains_to_zero_on_the_share_group_page(
    live_server: Any, page: Any, admin_user: Any, cluster: Any
) -> None:
    topic = h.make_topic(cluster.bootstrap, partitions=3)
    for p in range(3):
        h.produce(cluster.bootstrap, topic, p, [int(time.time() * 1000)] * (RECORDS // 3))
    group = s.unique_group("share-drain")
    s.configure(cluster.bootstrap, group)
    # The group's state starts at the first record of each partition: all of it waits.
    shares.reset_start(h.cluster(cluster.bootstrap), group, {(topic, p): 0 for p in range(3)})
    base = live_server.url
    done, acknowledged = threading.Event(), []
    worker = threading.Thread(
        target=_drain, args=(cluster.bootstrap, group, topic, done, acknowledged)
    )

    with override_settings(ODRADEK_LOCAL_BOOTSTRAP=cluster.bootstrap, ODRADEK_CLUSTER_TIMEOUT=10):
        login(page, base, "admin", "admin-pass-123")
        page.wait_for_url(f"{base}/clusters/local/")
        page.goto(f"{base}/clusters/local/groups/")
        page.get_by_role("link", name=group).click()
        page.wait_for_url(f"{base}/clusters/local/share-groups/{group}/")
        waiting = page.locator("#waiting-total")
        assert waiting.inner_text() == str(RECORDS)
        assert page.locator("#lag-table tbody tr").count() == 3
        worker.start()
        try:
            seen = [RECORDS]
            deadline = time.monotonic() + DRAIN_S
            while seen[-1] != 0 and time.monotonic() < deadline:
                # Each refresh swaps the fragment; wait for the text to change, then read it.
                page.wait_for_function(
                    "prev => document.querySelector('#waiting-total')?.innerText !== prev",
                    arg=str(seen[-1]),
                    timeout=DRAIN_S * 1000,
                )
                seen.append(int(waiting.inner_text().replace(",", "")))
            assert seen[-1] == 0, seen
            assert seen == sorted(seen, reverse=True), seen  # it never grew
            # The consumer is still a member: the page lists it.
            page.reload()
            assert page.locator("#members tbody tr td").first.inner_text() == "rdkafka"
            assert "none waiting" in page.locator("#lag-table").inner_text()
        finally:
            done.set()
            worker.join(DRAIN_S)
    assert sorted(acknowledged) == sorted(o for _ in range(3) for o in range(RECORDS // 3))
