"""Kafka's controller mutation quota (KIP-599): how many partitions a client may create or
delete per second, as a token bucket.

Owns the bucket (refilled at the quota per second, holding at most
`controller.quota.window.num` × `controller.quota.window.size.seconds` seconds of it) and
one request's view of it: strict for the request versions Kafka made strict (a topic is
refused with THROTTLING_QUOTA_EXCEEDED once the bucket is empty, and the mutation that
empties it still passes), permissive before them (everything passes, the response
carries the wait). It must never decide which requests count what: the topic handlers do.
"""

from __future__ import annotations

from logstore.clock import Clock

KEY = "controller_mutation_rate"
# The message a refused topic carries: none, as Kafka leaves out an error's generic text.
THROTTLED = None


class TokenBucket:
    def __init__(self, samples: int, window_ms: int) -> None:
        self._seconds = samples * window_ms / 1000
        self._tokens: float | None = None  # full at first use, as Kafka's after a long idle
        self._last_ms = 0

    def tokens(self, limit: float, now_ms: int) -> float:
        burst = self._seconds * limit
        if self._tokens is None:
            self._tokens = burst
        else:
            self._tokens = min(burst, self._tokens + limit * (now_ms - self._last_ms) / 1000)
        self._last_ms = now_ms
        return self._tokens

    def full(self, limit: float, now_ms: int) -> bool:
        return self.tokens(limit, now_ms) >= self._seconds * limit

    def take(self, permits: float, limit: float, now_ms: int) -> float:
        """Take `permits` (the bucket may go below zero); the tokens left."""
        left = min(self._seconds * limit, self.tokens(limit, now_ms) - permits)
        self._tokens = left
        return left


class MutationQuota:
    """One request's quota: `allow` per topic, then `throttle_ms` for the response."""

    def __init__(
        self, clock: Clock, bucket: TokenBucket | None, limit: float, strict: bool
    ) -> None:
        self._clock = clock
        self._bucket = bucket
        self._limit = limit
        self._strict = strict
        self._throttle_ms = 0
        self._at_ms = 0

    @property
    def active(self) -> bool:
        """A quota applies to this client."""
        return self._bucket is not None

    def _over(self, tokens: float, now: int) -> None:
        # Kafka's throttleTimeMs for a token bucket: the time to refill what is owed.
        self._throttle_ms = int((-tokens / self._limit * 1000) + 0.5)
        self._at_ms = now

    def allow(self, permits: int) -> bool:
        """Count `permits` partitions created or deleted; False when a strict quota is
        already exhausted (nothing is counted then)."""
        if self._bucket is None:
            return True
        now = self._clock.monotonic_ms()
        if self._strict:
            tokens = self._bucket.tokens(self._limit, now)
            if tokens < 0:
                self._over(tokens, now)
                return False
            self._bucket.take(permits, self._limit, now)
            return True
        tokens = self._bucket.take(permits, self._limit, now)
        if tokens < 0:
            self._over(tokens, now)
        return True

    def throttle_ms(self) -> int:
        """The wait the response carries: the last one found, less the time since."""
        elapsed = self._clock.monotonic_ms() - self._at_ms
        return max(0, self._throttle_ms - elapsed)
