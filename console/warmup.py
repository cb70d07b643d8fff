"""Warming the bundled cluster's snapshot when the console process starts.

Owns one daemon thread, started by `console.asgi` (the served process only, never
management commands or tests), that loads the Kafka clients and builds the first
snapshot of the `local` cluster, retrying while the broker that `make run` starts beside
the console comes up. Without it the first person to open a page pays for importing
kafka-python, connecting and a build with nothing known (about a second). It must never
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


def start() -> threading.Thread:
    """Warm the local cluster in a daemon thread."""
    thread = threading.Thread(
        target=lambda: warm(local_cluster()), name="snapshot warm-up", daemon=True
    )
    thread.start()
    return thread
