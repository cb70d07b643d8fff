"""Console test fixtures: users and a Playwright page driving Debian's Chromium.

The browser is the machine's `/usr/bin/chromium`; nothing is ever downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def admin_user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("admin", "", "admin-pass-123")


@pytest.fixture
def viewer_user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("viewer", "", "viewer-pass-123")


@pytest.fixture
def member_user(django_user_model: Any) -> Any:
    """A member of team payments (prefix `payments.`), which owns nothing the other
    fixtures make: the user a team right should not reach."""
    from django.contrib.auth.models import Group

    from console.models import Team

    user = django_user_model.objects.create_user("member", "", "member-pass-123")
    group = Group.objects.create(name="team:payments")
    Team.objects.create(name="payments", group=group, topic_prefix="payments.")
    user.groups.add(group)
    return user


# Module scope, not session: Playwright's sync API keeps an event loop running in this
# thread while open, which would break every asyncio test collected after it.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    # Playwright's sync API runs an event loop in this thread; the live server's database
    # work happens in the test thread between browser calls, which Django allows with this.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context()
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    context.close()


def login(page: Any, base_url: str, username: str, password: str) -> None:
    """Log in through the real form, as a person would."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


from tests.console.secure_clusters import console_cluster, secure  # noqa: E402, F401
