"""Admission and the shared byte budget, without sockets: per-address caps, refusal logs
that cannot flood, and a budget that serves waiters in order and survives cancellation."""

from __future__ import annotations

import asyncio
import logging

import pytest

from logstore.clock import ManualClock
from logstore.server.admission import LOG_INTERVAL_MS, Admission
from logstore.server.budget import ByteBudget


def test_per_address_cap_and_one_log_line_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    admission = Admission(clock, max_per_ip=2)
    caplog.set_level(logging.WARNING, logger="logstore.server")
    assert admission.admit("10.0.0.1", 100)
    assert admission.admit("10.0.0.1", 100)
    assert admission.admit("10.0.0.2", 100)  # another address has its own share
    for _ in range(5):
        assert not admission.admit("10.0.0.1", 100)
    assert len(caplog.records) == 1
    clock.advance(LOG_INTERVAL_MS)
    assert not admission.admit("10.0.0.1", 100)
    assert len(caplog.records) == 2
    assert "4 more refused since the last message" in caplog.records[-1].getMessage()
    admission.release("10.0.0.1")
    assert admission.admit("10.0.0.1", 100)
    assert not admission.admit("10.0.0.3", 3)  # the broker-wide cap applies first
    assert admission.total == 3


async def test_budget_serves_waiters_in_order_and_forgets_cancelled_ones() -> None:
    budget = ByteBudget(10)
    assert budget.try_acquire(8)
    first = asyncio.create_task(budget.acquire(5))
    second = asyncio.create_task(budget.acquire(1))
    await asyncio.sleep(0)
    assert not budget.try_acquire(1)  # someone is waiting: no overtaking
    assert not second.done()  # 1 byte would fit, but the first waiter came first
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    await asyncio.sleep(0)
    assert second.done()
    assert budget.available == 1
    budget.release(8)
    budget.release(1)
    assert budget.available == 10
