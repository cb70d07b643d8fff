"""Waiting until a cluster shows a change it has accepted.

Owns the bounded poll the gateways run after an administrative write (ACLs, SCRAM users,
client quotas): Apache Kafka answers once its controller has the change, and the broker
answering the next read may learn of it a moment later. It must never decide what
"shown" means (the caller's check does) nor wait past the cluster's timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from console.kafka.errors import Timeout

POLL_S = 0.05


def until_shown(timeout_s: float, shown: Callable[[], bool], late: str) -> None:
    """Return once `shown()` is true; raise Timeout(`late`) after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not shown():
        if time.monotonic() > deadline:
            raise Timeout(late)
        time.sleep(POLL_S)  # waiting for the cluster's metadata log, not for time to pass
