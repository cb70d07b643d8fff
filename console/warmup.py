"""Warming the bundled cluster's snapshot when the console process starts.

Owns one daemon thread, started by `console.asgi` (the served process only, never
management commands or tests), that loads the Kafka clients and builds the first
snapshot of the `local` cluster, retrying while the broker that `make run` starts beside
the console comes up; it loads the URLconf (every view module) first. Without it the
first person to open a page pays for importing the views and kafka-python, connecting and
a build with nothing known (one to two seconds). It must never
raise into the server nor retry forever.
"""

from __future__ import annotations

import logging
import threading
import time

from console.clusters import ClusterConfig, local_cluster
from console.kafka.errors import ClusterError

log = logging.getLogger(__name__)

ATTEMPTS = 30
RETRY_S = 1.0


def warm(cluster: ClusterConfig, attempts: int = ATTEMPTS, retry_s: float = RETRY_S) -> bool:
    """Build `cluster`'s snapshot, retrying while it is unreachable; True once built."""
    from console.kafka.snapshot import snapshot

    for attempt in range(attempts):
        try:
            snapshot(cluster)
            return True
        except ClusterError as exc:
            if attempt == attempts - 1:
                log.info("not warming %s: %s", cluster.slug, exc)
            else:
                time.sleep(retry_s)  # the broker starts beside us; give it time
        except Exception:  # a warm-up bug must never take the console down
            log.exception("warming %s failed", cluster.slug)
            return False
    return False


def load_pages() -> None:
    """Import every view module now, as Django would on the first request."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (the attribute access is the import)


def _warm_all() -> None:
    try:
        load_pages()
    except Exception:  # a broken view shows on its own page; the snapshot still warms
        log.exception("loading the pages failed")
    warm(local_cluster())


def start() -> threading.Thread:
    """Load the pages and warm the local cluster in a daemon thread."""
    thread = threading.Thread(target=_warm_all, name="snapshot warm-up", daemon=True)
    thread.start()
    return thread
