"""A read_committed long poll parked at the LSO wakes when a marker moves it.

Runs the real Fetch handler on a real broker assembly over a real LogManager; the marker
is appended the way the transaction coordinator does it (`log.append`, then
`broker.producers.record`, then `broker.appends.notify`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from logstore.broker.api import RawReply, RequestContext
from logstore.broker.assembly import close_broker, open_broker
from logstore.broker.build import make
from logstore.broker.handlers.fetch import fetch
from logstore.clock import SystemClock
from logstore.config import BrokerConfig
from logstore.protocol import codec
from logstore.protocol.api_keys import ApiKey
from logstore.records import build_batch, iter_headers, parse_header
from logstore.records.control import build_control_batch
from logstore.storage import LogManager
from tests.logstore.broker.wire import schema as wire_schema

VERSION = 12


def _request(offset: int) -> Any:
    schema = wire_schema(ApiKey.FETCH, VERSION)
    part = make(
        schema.FetchPartition,
        partition=0,
        fetch_offset=offset,
        partition_max_bytes=1 << 20,
        log_start_offset=-1,
        current_leader_epoch=-1,
    )
    return make(
        codec.request_class(ApiKey.FETCH, VERSION),
        replica_id=-1,
        max_wait=20_000,
        min_bytes=1,
        max_bytes=1 << 20,
        isolation_level=1,
        session_id=0,
        session_epoch=-1,
        topics=(make(schema.FetchTopic, topic="t", partitions=(part,)),),
        forgotten_topics_data=(),
        rack_id="",
    )


def _decode(reply: RawReply) -> Any:
    frame = b"".join(p if isinstance(p, bytes) else p.to_bytes() for p in reply.parts)
    _, response = codec.decode_response(ApiKey.FETCH, VERSION, frame[4:])
    return response.responses[0].partitions[0]


async def _parked(task: asyncio.Task[Any]) -> None:
    """Let the fetch run up to its wait (a few loop turns, no time passes)."""
    for _ in range(20):
        await asyncio.sleep(0)
    assert not task.done(), "read_committed fetch at the LSO answered without waiting"


async def test_read_committed_long_poll_wakes_when_the_lso_moves(tmp_path: Path) -> None:
    clock = SystemClock()
    logs = LogManager(tmp_path, fsync="always").open()
    logs.create_topic("t", 1, {})
    broker = await open_broker(BrokerConfig(data_dir=tmp_path, port=0), logs, clock)
    plog = logs.log("t", 0)

    def append(batch: bytes) -> int:
        result = plog.append(batch)
        broker.producers.record(plog, parse_header(batch), result.base_offset)
        broker.appends.notify("t", 0)
        return result.base_offset

    try:
        txn = build_batch(
            [(None, b"in-txn")], producer_id=5, producer_epoch=0, base_sequence=0,
            transactional=True, timestamp=clock.now_ms(),
        )  # fmt: skip
        append(txn)  # offset 0: the open transaction holds the LSO at 0
        ctx = RequestContext(ApiKey.FETCH, VERSION, 1, "c", "127.0.0.1")
        task = asyncio.create_task(fetch(broker, ctx, _request(0)))
        await _parked(task)
        append(build_batch([(None, b"plain")], timestamp=clock.now_ms()))  # offset 1
        await _parked(task)  # woken, but still nothing stable to return
        append(build_control_batch(5, 0, commit=True, timestamp=clock.now_ms()))  # offset 2
        part = _decode(await asyncio.wait_for(task, 10))
        assert (part.high_watermark, part.last_stable_offset) == (3, 3)
        assert [h.base_offset for _, h in iter_headers(part.records)] == [0, 1, 2]
        assert list(part.aborted_transactions) == []
    finally:
        await close_broker(broker)
        logs.close()
