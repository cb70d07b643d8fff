"""Who may connect: the total connection cap, Kafka's max.connections.per.ip, and refusal
logging that cannot flood the log.

Owns the per-address counts and the decision for a new connection. A refused connection is
closed at once (as Kafka does); each address's refusals are logged at most once per
LOG_INTERVAL_MS, with a count of those not logged (`lograte`). A connection over its
address's connection_creation_rate is held unread for its wait, then closed
(`hold_then_close`). It must never read or write sockets (closing goes through the
callable its caller gives).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable

from logstore.clock import Clock
from logstore.server.lograte import ThrottledLog

log = logging.getLogger("logstore.server")

LOG_INTERVAL_MS = 60_000


async def hold_then_close(hold_ms: int, close: Callable[[], None]) -> None:
    """Keep a connection over its connection_creation_rate unread for `hold_ms`, then
    close it (KIP-612); a shutdown that cancels the wait closes it too."""
    try:
        await asyncio.sleep(hold_ms / 1000)
    finally:
        close()


class Admission:
    def __init__(self, clock: Clock, max_per_ip: int | None) -> None:
        self._clock = clock
        self.max_per_ip = max_per_ip
        self.open: Counter[str] = Counter()
        self.total = 0
        self._log_refusal = ThrottledLog(
            log, logging.WARNING, clock, LOG_INTERVAL_MS, held_back="more refused"
        )

    def admit(self, host: str, max_connections: int) -> bool:
        """Count a new connection from `host` in, or refuse it (False, logged) when the
        broker holds `max_connections` (the caller's current cap) or the address its
        max.connections.per.ip."""
        if self.total >= max_connections:
            self._refused(host, f"the broker already has {max_connections} connections")
            return False
        if self.max_per_ip is not None and self.open[host] >= self.max_per_ip:
            self._refused(
                host,
                f"the address already has the configured maximum of {self.max_per_ip} "
                "connections (max.connections.per.ip)",
            )
            return False
        self.open[host] += 1
        self.total += 1
        return True

    def release(self, host: str) -> None:
        """A connection admitted earlier ended."""
        self.open[host] -= 1
        self.total -= 1
        if self.open[host] <= 0:
            del self.open[host]

    def _refused(self, host: str, why: str) -> None:
        self._log_refusal(host, "refused a connection from %s: %s", host, why)
