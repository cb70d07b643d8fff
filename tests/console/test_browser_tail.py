"""Live tail in a real browser: Chromium opens the page, kcat produces, the rows appear.

The console runs as `make run` runs it: a daphne process serving `console.asgi`, with its
own SQLite database (migrated, admin created by `ensure_admin`), pointed at the cluster.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clusters import (
    Cluster,
    cluster_or_three_nodes,  # noqa: F401 (this module's `cluster`)
)
from tests.console.conftest import login
from tests.console.messages_data import create_topic

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "tail-admin-pass-1"
LISTENING = re.compile(r"Listening on TCP address 127\.0\.0\.1:(\d+)")


@pytest.fixture
def console_url(cluster: Cluster, tmp_path: Path) -> Iterator[str]:
    env = {
        **os.environ,
        "ODRADEK_HOME": str(tmp_path),
        "ODRADEK_BOOTSTRAP": cluster.bootstrap,
        "ODRADEK_ADMIN_PASSWORD": PASSWORD,
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    for command in (["migrate", "--noinput"], ["ensure_admin"]):
        subprocess.run([*manage, *command], env=env, cwd=ROOT, check=True, capture_output=True)
    log_path = tmp_path / "daphne.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                "0",
                "console.asgi:application",
            ],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        port = None
        while port is None and time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"daphne exited: {log_path.read_text()}")
            found = LISTENING.search(log_path.read_text())
            port = found.group(1) if found else None
            time.sleep(0.1)  # polling for the log line, bounded by the deadline
        assert port, f"daphne did not report its port: {log_path.read_text()}"
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def kcat_produce(bootstrap: str, topic: str, lines: list[str]) -> None:
    subprocess.run(
        ["kcat", "-P", "-b", bootstrap, "-t", topic, "-K", ":"],
        input="\n".join(lines) + "\n",
        text=True,
        check=True,
        timeout=30,
    )


def test_live_tail_shows_rows_produced_with_kcat(
    page: Any, console_url: str, cluster: Cluster
) -> None:
    topic = create_topic(cluster.bootstrap, partitions=2, prefix="pw-tail")
    login(page, console_url, "admin", PASSWORD)
    # From the navigation's "Live tail" to the topic, as a person would get there.
    page.goto(f"{console_url}/clusters/local/")
    page.click("nav.mainnav >> text=Live tail")
    page.click(f"text={topic}")
    assert page.url.endswith(f"/topics/{topic}/tail/")
    page.wait_for_function("document.getElementById('tail-state').textContent === 'live'")
    kcat_produce(
        cluster.bootstrap,
        topic,
        ['k1:{"event": "signup", "user": 1}', "k2:hello from kcat", "k3:third line"],
    )
    page.wait_for_function("document.querySelectorAll('#tail-rows tr').length === 3")
    rows = page.locator("#tail-rows tr")
    text = " ".join(rows.all_inner_texts())
    assert "signup" in text
    assert "hello from kcat" in text
    assert "k2" in text
    assert page.locator("#tail-shown").inner_text() == "3"

    # A filter reconnects and only matching rows arrive; Clear empties the table.
    page.click("#tail-clear")
    assert page.locator("#tail-rows tr").count() == 0
    page.fill("#id_q", "needle")
    page.click("#tail-form button[type=submit]")
    page.wait_for_function("document.getElementById('tail-state').textContent === 'live'")
    assert "q=needle" in page.url
    kcat_produce(cluster.bootstrap, topic, ["a:hay", "b:a needle here", "c:more hay"])
    page.wait_for_function("document.querySelectorAll('#tail-rows tr').length === 1")
    assert "a needle here" in page.locator("#tail-rows").inner_text()
    page.wait_for_function("document.getElementById('tail-filtered').textContent === '2'")

    # Pause: what passes meanwhile is counted on screen, never shown; Resume says how many.
    page.click("#tail-pause")
    page.wait_for_function("document.getElementById('tail-state').textContent === 'paused'")
    assert page.locator("#tail-pause").inner_text() == "Resume"
    kcat_produce(cluster.bootstrap, topic, ["d:needle while paused", "e:hay while paused"])
    page.wait_for_function(
        "document.getElementById('tail-state').textContent === 'paused (2 records passed)'"
    )
    page.click("#tail-pause")
    page.wait_for_function(
        "document.getElementById('tail-state').textContent"
        " === 'live (2 records passed while paused)'"
    )
    assert page.locator("#tail-rows tr").count() == 1
    # One record reads as one record.
    page.click("#tail-pause")
    kcat_produce(cluster.bootstrap, topic, ["f:one more needle"])
    page.wait_for_function(
        "document.getElementById('tail-state').textContent === 'paused (1 record passed)'"
    )
    page.click("#tail-pause")
    page.wait_for_function(
        "document.getElementById('tail-state').textContent"
        " === 'live (1 record passed while paused)'"
    )
    assert page.locator("#tail-rows tr").count() == 1
