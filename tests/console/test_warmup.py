"""The served console warms the bundled cluster's snapshot before anyone asks for a page."""

from __future__ import annotations

import subprocess
import sys
import time

from console.clusters import ClusterConfig, local_cluster
from console.kafka.snapshot import snapshot
from console.warmup import warm
from tests.console.topics_helpers import console_on, make_topic, unique


def test_warm_builds_the_snapshot_the_first_page_is_served_from(shared_broker) -> None:
    with console_on(shared_broker.bootstrap):
        topic = unique("warm")
        make_topic(shared_broker.bootstrap, topic)
        cluster = local_cluster()
        assert warm(cluster, attempts=3, retry_s=0.1)
        warmed_by = int(time.time() * 1000)
        first_page = snapshot(cluster)
        assert first_page.taken_at_ms <= warmed_by  # built by the warm-up, not the page
        assert topic in first_page.topics


def test_warm_gives_up_quietly_on_an_unreachable_cluster() -> None:
    nowhere = ClusterConfig(slug="nowhere", name="nowhere", bootstrap="127.0.0.1:1")
    assert warm(nowhere, attempts=2, retry_s=0) is False


def test_load_pages_imports_the_views_before_the_first_request() -> None:
    # A fresh interpreter: in this one the test client has long imported every view.
    probe = (
        "import os, sys, django;"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'console.settings';"
        "django.setup();"
        "assert 'console.views.topics' not in sys.modules;"
        "from console.warmup import load_pages; load_pages();"
        "assert 'console.views.topics' in sys.modules, 'views not loaded'"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
