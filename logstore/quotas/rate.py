"""A rate over sampled windows, computed exactly as Kafka's quota sensors compute it.

Owns Kafka's `Rate` over a `WindowedSum` (quota.window.num samples of
quota.window.size.seconds each, an extra overlapping sample, obsolete samples reset, and
the elapsed time counted as at least n-1 whole windows), so a client's throttle time here
is the one Kafka would give it. It must never read a clock: every call is given the time.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class _Sample:
    start_ms: int
    last_ms: int
    value: float = 0.0

    def reset(self, now_ms: int) -> None:
        self.start_ms = self.last_ms = now_ms
        self.value = 0.0


class SampledRate:
    def __init__(self, samples: int, window_ms: int) -> None:
        self._n = samples
        self._window = window_ms
        self._samples: list[_Sample] = []
        self._current = 0

    def record(self, value: float, now_ms: int) -> None:
        if not self._samples:
            self._samples.append(_Sample(now_ms, now_ms))
        sample = self._samples[self._current]
        if now_ms - sample.start_ms >= self._window:
            # One more than n: the sample overlapping the window's start is kept.
            self._current = (self._current + 1) % (self._n + 1)
            if self._current >= len(self._samples):
                sample = _Sample(now_ms, now_ms)
                self._samples.append(sample)
            else:
                sample = self._samples[self._current]
                sample.reset(now_ms)
        sample.value += value
        sample.last_ms = now_ms

    def _purge(self, now_ms: int) -> None:
        expire = self._n * self._window
        for sample in self._samples:
            if now_ms - sample.last_ms >= expire:
                sample.reset(now_ms)

    def window_ms(self, now_ms: int) -> int:
        """The time the rate is taken over: since the oldest sample began, and at least
        n-1 whole windows (a first burst is not measured over a few milliseconds)."""
        self._purge(now_ms)
        if not self._samples:
            self._samples.append(_Sample(now_ms, now_ms))
        elapsed = now_ms - min(s.start_ms for s in self._samples)
        full = elapsed // self._window
        if full < self._n - 1:
            elapsed += (self._n - 1 - full) * self._window
        return max(elapsed, 1)

    def rate(self, now_ms: int) -> float:
        """Per second."""
        self._purge(now_ms)
        total = sum(s.value for s in self._samples)
        return total / (self.window_ms(now_ms) / 1000)

    def idle(self, now_ms: int) -> bool:
        """Every sample is obsolete or holds nothing: a new rate would measure the same
        (to within the start of a window)."""
        expire = self._n * self._window
        return all(now_ms - s.last_ms >= expire or not s.value for s in self._samples)
