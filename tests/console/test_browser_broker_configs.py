"""A broker's runtime config changed and reverted through Chromium with the inline editor
(htmx), on both real clusters."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils.text import slugify

from console.clusters import local_cluster
from console.kafka import brokers
from tests.clusters import cluster_or_three_nodes  # noqa: F401 (this module's `cluster`)
from tests.console.conftest import login
from tests.console.topics_helpers import console_on

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME = "log.cleaner.io.max.bytes.per.second"
ROW = f"#config-{slugify(NAME)}"


def test_admin_edits_and_reverts_a_broker_config_inline(
    live_server: Any, page: Any, admin_user: Any, cluster: Any
) -> None:
    base = live_server.url
    with console_on(cluster.bootstrap):
        node = brokers.broker_ids(local_cluster())[0]
        try:
            login(page, base, "admin", "admin-pass-123")
            page.wait_for_url(f"{base}/clusters/local/")
            page.get_by_role("link", name="Brokers").click()
            page.wait_for_url(f"{base}/clusters/local/brokers/")
            page.get_by_role("link", name="configuration").first.click()
            page.wait_for_url(f"{base}/clusters/local/brokers/{node}/configs/")
            row = page.locator(ROW)
            assert "default" in row.inner_text()
            assert "read-only" in page.locator(f"#config-{slugify('log.dirs')}").inner_text()
            row.get_by_role("button", name="Edit").click()
            row.locator("input[name=value]").fill("2097152")
            row.get_by_role("button", name="Save").click()
            page.locator(f"{ROW}.saved").wait_for()
            assert "changed at runtime" in row.inner_text()
            found = brokers.config_of(local_cluster(), node, NAME)
            assert found is not None
            assert found.origin == "dynamic"

            row.get_by_role("button", name="Edit").click()
            row.get_by_role("button", name="Revert").click()
            page.locator(f"{ROW}.saved").wait_for()
            row.get_by_text("default", exact=True).wait_for()
            found = brokers.config_of(local_cluster(), node, NAME)
            assert found is not None
            assert found.origin == "default"
        finally:
            found = brokers.config_of(local_cluster(), node, NAME)
            if found is not None and found.source == "DYNAMIC_BROKER_CONFIG":
                brokers.alter(local_cluster(), node, NAME, None)
