"""Attaching the group coordinator and producer-state manager to a running broker.

Owns their start/stop order against storage: both come up after `LogManager.open()` and
go down before `LogManager.close()`, with a last producer snapshot, plus the periodic
producer snapshot task. It must never serve requests (handlers do) nor open storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from logstore.groups.coordinator import GroupCoordinator
from logstore.producers.manager import ProducerManager

log = logging.getLogger(__name__)

SNAPSHOT_INTERVAL_S = 1.0
_tasks: dict[int, asyncio.Task[None]] = {}


async def attach(broker: Any) -> None:
    """Fill `broker.groups` and `broker.producers` (call after storage is open)."""
    coordinator = GroupCoordinator(broker.logs, broker.clock, broker.config.groups)
    await coordinator.start()
    broker.groups = coordinator
    producers = ProducerManager(broker.logs, broker.clock)
    broker.producers = producers
    _tasks[id(broker)] = asyncio.create_task(_snapshots(producers), name="producer-snapshots")


async def detach(broker: Any) -> None:
    """Stop timers and write the last producer snapshot (call before closing storage)."""
    task = _tasks.pop(id(broker), None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if isinstance(broker.groups, GroupCoordinator):
        await broker.groups.stop()
    if isinstance(broker.producers, ProducerManager):
        broker.producers.snapshot()


async def _snapshots(producers: ProducerManager) -> None:
    # Bounds how much of the log a restart after kill -9 rescans for producer state.
    while True:
        await asyncio.sleep(SNAPSHOT_INTERVAL_S)
        try:
            data = producers.prepare_snapshot()
            if data is not None:
                # fsync off the event loop: a slow disk must not delay requests.
                await asyncio.to_thread(producers.write_snapshot, data)
        except Exception:
            log.exception("producer snapshot failed")
