"""Log lines that a hostile or broken client cannot turn into a flood.

Owns per-key rate limiting of one kind of message: the first occurrence for a key (a
client address) is logged at once, later ones at most once per interval with a count of
those held back. It must never decide what is logged, only how often.
"""

from __future__ import annotations

import logging
from collections import Counter

from logstore.clock import Clock

# Keys remembered for rate limiting; beyond this the oldest are forgotten.
MAX_REMEMBERED = 4096


class ThrottledLog:
    def __init__(
        self,
        logger: logging.Logger,
        level: int,
        clock: Clock,
        interval_ms: int,
        *,
        held_back: str = "more like it",
    ) -> None:
        self._held_back = f" (%d {held_back} since the last message)"
        self._logger = logger
        self._level = level
        self._clock = clock
        self._interval_ms = interval_ms
        self._last_logged: dict[str, int] = {}
        self._unlogged: Counter[str] = Counter()

    def __call__(self, key: str, message: str, *args: object) -> None:
        """Log `message % args` for `key` unless this key was logged within the interval."""
        now = self._clock.monotonic_ms()
        last = self._last_logged.get(key)
        if last is not None and now - last < self._interval_ms:
            self._unlogged[key] += 1
            return
        skipped = self._unlogged.pop(key, 0)
        if skipped:
            message += self._held_back
            args = (*args, skipped)
        self._logger.log(self._level, message, *args)
        self._last_logged.pop(key, None)
        self._last_logged[key] = now
        while len(self._last_logged) > MAX_REMEMBERED:
            oldest = next(iter(self._last_logged))
            del self._last_logged[oldest]
            self._unlogged.pop(oldest, None)
