"""How much of the event loop's time one request took: what request_percentage charges.

Kafka charges a client, against its request_percentage quota, the time its request handler
thread spent on the client's request (and the network thread's). Odradek's handlers are
coroutines on one event loop, interleaved with everyone else's, so the wall time from a
request's start to its answer would charge a client for other clients' work and for time
spent waiting (for an fsync, for records to arrive). Instead a `RequestTimer` drives the
handler's coroutine itself and adds up only the time each of its steps ran. It owns that
stepping and the sum; it must never decide whether the time is over a quota, and it is
only put in a request's path when a request_percentage quota is set (each step then costs
two clock reads).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from time import perf_counter
from typing import Any, TypeVar

T = TypeVar("T")
# Kafka's ClientRequestQuotaManager.nanosToPercentage: one second of one thread is 100.
PERCENT_PER_SECOND = 100.0


class RequestTimer:
    def __init__(self, now: Callable[[], float] = perf_counter) -> None:
        self._now = now
        self.seconds = 0.0
        # Set once the time was charged (by a handler that answers with a throttle it
        # computed itself, as Produce and Fetch do), so it is never charged twice.
        self.charged = False

    def add(self, since: float) -> None:
        """Count the time from `since` (a reading of this timer's clock) until now."""
        self.seconds += self._now() - since

    @property
    def percentage(self) -> float:
        """What Kafka records for this time: percent of one thread for one second."""
        return self.seconds * PERCENT_PER_SECOND

    def run(self, awaitable: Awaitable[T]) -> Awaitable[T]:
        """`awaitable`, timed: awaiting the result runs it, counting only its steps."""
        return _Timed(awaitable, self)


class _Timed(Awaitable[T]):
    __slots__ = ("_inner", "_timer")

    def __init__(self, inner: Awaitable[T], timer: RequestTimer) -> None:
        self._inner = inner
        self._timer = timer

    def __await__(self) -> Generator[Any, Any, T]:
        steps = self._inner.__await__()
        timer, now = self._timer, self._timer._now
        value: Any = None
        error: BaseException | None = None
        while True:
            started = now()
            try:
                yielded = steps.send(value) if error is None else steps.throw(error)
            except StopIteration as done:
                timer.seconds += now() - started
                return done.value
            except BaseException:
                timer.seconds += now() - started
                raise
            timer.seconds += now() - started
            # What the event loop sends back (a future's result) or throws in (a
            # cancellation) goes on to the handler unchanged.
            try:
                value, error = (yield yielded), None
            except BaseException as exc:
                value, error = None, exc
