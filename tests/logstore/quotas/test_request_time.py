"""request_percentage's measure: a RequestTimer counts only the steps a handler ran on the
event loop (an injected clock moves within steps and while it waits), never the waits;
results, errors and cancellation pass through it; and the enforcer turns that time into
Kafka's percentage and bounds its wait by one window."""

from __future__ import annotations

import asyncio

import pytest

from logstore.clock import ManualClock
from logstore.quotas.enforcer import REQUEST, QuotaEnforcer
from logstore.quotas.request_time import RequestTimer


class _Clock:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_only_the_handlers_own_steps_are_counted() -> None:
    clock = _Clock()
    timer = RequestTimer(clock)

    async def handler(ready: asyncio.Event) -> str:
        clock.now += 0.005  # decoding and checking
        await ready.wait()
        clock.now += 0.003  # answering
        return "answer"

    async def main() -> str:
        ready = asyncio.Event()
        task = asyncio.ensure_future(timer.run(handler(ready)))
        await asyncio.sleep(0)
        clock.now += 10.0  # others' requests, an fsync, a long poll
        ready.set()
        return await task

    assert asyncio.run(main()) == "answer"
    assert timer.seconds == pytest.approx(0.008)
    assert timer.percentage == pytest.approx(0.8)


def test_errors_and_cancellation_reach_the_handler_and_its_caller() -> None:
    clock = _Clock()
    timer = RequestTimer(clock)
    seen: list[str] = []

    async def failing() -> None:
        clock.now += 0.002
        raise ValueError("bad request")

    async def waiting() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            clock.now += 0.001
            seen.append("cancelled")
            raise

    async def main() -> None:
        with pytest.raises(ValueError, match="bad request"):
            await timer.run(failing())
        task = asyncio.ensure_future(timer.run(waiting()))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert seen == ["cancelled"]
    assert timer.seconds == pytest.approx(0.003)


def test_request_time_is_charged_as_kafka_does_and_its_wait_bounded_by_a_window() -> None:
    clock = ManualClock()
    enforcer = QuotaEnforcer(clock)
    enforcer.load([((("client-id", "app"),), {REQUEST: 10.0})])
    # 50 ms of handling (5 "percent-seconds") over the 10 s a first burst is measured
    # over: 0.5% of one thread, within 10%.
    assert enforcer.record(REQUEST, "ANONYMOUS", "app", 5.0) == 0
    # 1.5 s more: 15.5% against 10%, a wait of 5.5 s by Kafka's formula, bounded to 1 s.
    assert enforcer.record(REQUEST, "ANONYMOUS", "app", 150.0) == 1_000
    # A byte quota's wait is not bounded so.
    enforcer.load([((("client-id", "app"),), {"producer_byte_rate": 10.0})])
    assert enforcer.record("producer_byte_rate", "ANONYMOUS", "app", 155.0) == 5_500
