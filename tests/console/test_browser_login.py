"""A person logs in through Chromium and sees the Overview."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from tests.console.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@override_settings(ODRADEK_LOCAL_BOOTSTRAP="127.0.0.1:1", ODRADEK_CLUSTER_TIMEOUT=1)
def test_login_and_see_overview(live_server: Any, page: Any, admin_user: Any) -> None:
    page.goto(live_server.url + "/")
    assert "/accounts/login/" in page.url
    login(page, live_server.url, "admin", "admin-pass-123")
    page.wait_for_url(f"{live_server.url}/clusters/local/")
    assert page.locator("h1").inner_text() == "Overview"
    assert page.locator("nav.mainnav a", has_text="Consumer groups").count() == 1


def test_wrong_password_stays_on_login(live_server: Any, page: Any, admin_user: Any) -> None:
    login(page, live_server.url, "admin", "wrong")
    assert page.get_by_role("alert").inner_text().startswith("That username and password")
