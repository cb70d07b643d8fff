"""Who may connect: the total connection cap, Kafka's max.connections.per.ip, and refusal
logging that cannot flood the log.

Owns the per-address counts and the decision for a new connection. A refused connection is
closed at once (as Kafka does); each address's refusals are logged at most once per
LOG_INTERVAL_MS, with a count of those not logged. It must never read or write sockets.
"""

from __future__ import annotations

import logging
from collections import Counter

from logstore.clock import Clock

log = logging.getLogger("logstore.server")

LOG_INTERVAL_MS = 60_000
# Addresses remembered for rate limiting; beyond this the oldest are forgotten.
MAX_REMEMBERED = 4096


class Admission:
    def __init__(self, clock: Clock, max_per_ip: int | None) -> None:
        self._clock = clock
        self.max_per_ip = max_per_ip
        self.open: Counter[str] = Counter()
        self.total = 0
        self._last_logged: dict[str, int] = {}
        self._unlogged: Counter[str] = Counter()

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
        now = self._clock.monotonic_ms()
        last = self._last_logged.get(host)
        if last is not None and now - last < LOG_INTERVAL_MS:
            self._unlogged[host] += 1
            return
        skipped = self._unlogged.pop(host, 0)
        more = f" ({skipped} more refused since the last message)" if skipped else ""
        log.warning("refused a connection from %s: %s%s", host, why, more)
        self._last_logged.pop(host, None)
        self._last_logged[host] = now
        while len(self._last_logged) > MAX_REMEMBERED:
            oldest = next(iter(self._last_logged))
            del self._last_logged[oldest]
            self._unlogged.pop(oldest, None)
