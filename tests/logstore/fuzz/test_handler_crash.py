"""A panic in native code under a handler costs one connection, never the event loop.

pyo3 turns a Rust panic into PanicException, a BaseException: left alone it would pass
every `except Exception` and stop asyncio itself. `handle_frame` turns it into an ordinary
error, which the server answers by closing that connection and logging it once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from logstore.broker import api
from logstore.broker.assembly import close_broker, open_broker
from logstore.broker.dispatch import HandlerCrashError, handle_frame
from logstore.clock import SystemClock
from logstore.config import BrokerConfig
from logstore.protocol import codec
from logstore.quotas.enforcer import REQUEST
from logstore.storage import LogManager
from tests.logstore.fuzz import synth


def _unserved_api() -> int:
    """An API kio parses but no handler serves: registering it here disturbs nobody."""
    import logstore.broker.handlers  # noqa: F401  (registers every handler)

    return next(k for k in range(100) if api.registration(k) is None and codec.can_parse(k, 1))


UNSERVED = _unserved_api()


class FakePanic(BaseException):
    """Stands in for pyo3's PanicException (also a direct BaseException subclass)."""


@pytest.fixture
def panicking_handler() -> Iterator[None]:
    assert api.registration(UNSERVED) is None

    @api.handles(UNSERVED, min_version=1, max_version=1)
    async def panics(broker: Any, ctx: api.RequestContext, request: Any) -> Any:
        raise FakePanic("called `Option::unwrap()` on a `None` value")

    try:
        yield
    finally:
        api._REGISTRY.pop(UNSERVED)


async def _answer(tmp_path: Path, body: bytes, request_quota: bool = False) -> Any:
    """`handle_frame` on a real broker (with a request_percentage quota in force: every
    handler then runs under the request timer)."""
    logs = LogManager(tmp_path, fsync="always").open()
    broker = await open_broker(BrokerConfig(data_dir=tmp_path, port=0), logs, SystemClock())
    try:
        if request_quota:
            broker.quotas.load([((("client-id", None),), {REQUEST: 100.0})])
        return await handle_frame(broker, body, "127.0.0.1")
    finally:
        await close_broker(broker)
        logs.close()


@pytest.mark.usefixtures("panicking_handler")
@pytest.mark.parametrize("request_quota", [False, True])
def test_a_native_panic_becomes_an_ordinary_error(tmp_path: Path, request_quota: bool) -> None:
    body = synth.frame(UNSERVED, 1, nulls=False)[4:]
    with pytest.raises(HandlerCrashError, match="FakePanic: called `Option::unwrap"):
        asyncio.run(_answer(tmp_path, body, request_quota))


@pytest.mark.parametrize("request_quota", [False, True])
def test_cancellation_still_passes_through(tmp_path: Path, request_quota: bool) -> None:
    async def cancelled() -> None:
        body = synth.frame(18, 0, nulls=False)[4:]
        task = asyncio.create_task(_answer(tmp_path, body, request_quota))
        task.cancel()
        await task

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(cancelled())
