"""A person resets a consumer group to "1 hour ago" through the preview, in Chromium, on
both real clusters; the group then reads exactly the first record of the last hour."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import override_settings

from console.models import AuditEntry
from tests.clusters import cluster_or_three_nodes  # noqa: F401 (this module's `cluster`)
from tests.console import groups_helpers as h
from tests.console.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
MINUTE = 60_000


def test_reset_group_to_one_hour_ago_through_the_preview(
    live_server: Any, page: Any, admin_user: Any, cluster: Any
) -> None:
    topic = h.make_topic(cluster.bootstrap, partitions=1)
    now = int(time.time() * 1000)
    ages = [180, 150, 90, 50, 30, 10]  # minutes; record 3 is the first of the last hour
    h.produce(cluster.bootstrap, topic, 0, [now - a * MINUTE for a in ages])
    group = h.unique("grp-browser")
    h.consume_to(cluster.bootstrap, group, topic, {0: 6})
    base = live_server.url

    with override_settings(ODRADEK_LOCAL_BOOTSTRAP=cluster.bootstrap, ODRADEK_CLUSTER_TIMEOUT=10):
        login(page, base, "admin", "admin-pass-123")
        page.wait_for_url(f"{base}/clusters/local/")
        page.goto(f"{base}/clusters/local/groups/")
        page.get_by_role("link", name=group).click()
        page.wait_for_url(f"{base}/clusters/local/groups/{group}/")
        page.get_by_role("link", name="Reset offsets…").click()
        page.check("input[name=mode][value=duration]")
        page.fill("input[name=value]", "1 hour")
        page.get_by_role("button", name="Preview").click()

        preview = page.locator("#reset-preview tbody tr")
        preview.wait_for()
        cells = preview.locator("td").all_inner_texts()
        assert cells[:4] == [topic, "0", "6", "3"]  # topic, partition, current, new
        assert cells[5] == "3"  # three records will be read again
        assert "Preview: to 1 hour ago" in page.locator("#preview").inner_text()
        # Nothing changed yet: the preview only looked.
        assert h.first_records(cluster.bootstrap, group, topic, [0]) == {0: None}

        page.get_by_role("button", name="Apply this reset").click()
        page.wait_for_url(f"{base}/clusters/local/groups/{group}/")
        assert "reset to 1 hour ago on 1 partitions" in page.locator(".messages").inner_text()
        assert page.locator("#replay").is_visible()

    assert h.first_records(cluster.bootstrap, group, topic, [0]) == {0: (3, "p0-3")}
    entry = AuditEntry.objects.get(action="group.reset_offsets", target=f"group:{group}")
    assert (entry.before, entry.after) == ({f"{topic}[0]": 6}, {f"{topic}[0]": 3})
