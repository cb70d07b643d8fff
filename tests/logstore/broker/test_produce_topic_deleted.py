"""acks=all on a topic deleted while the producer waits for its fsync.

Runs the real Produce handler on a real broker assembly over a real LogManager. The
handler appends, then waits for durability a loop turn later; a DeleteTopics served in
between used to escape the handler and close the producer's connection (found by
`bench/fuzz.py`). Kafka answers that partition UNKNOWN_TOPIC_OR_PARTITION and the rest of
the request as usual.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from logstore.broker.api import RequestContext
from logstore.broker.assembly import close_broker, open_broker
from logstore.broker.build import make
from logstore.broker.handlers.produce import produce
from logstore.clock import SystemClock
from logstore.config import BrokerConfig
from logstore.protocol import codec
from logstore.protocol.api_keys import ApiKey
from logstore.records import build_batch
from logstore.storage import LogManager
from tests.logstore.broker.wire import schema as wire_schema

VERSION = 9
UNKNOWN_TOPIC_OR_PARTITION = 3


def _request(topics: list[str], timestamp: int) -> Any:
    s = wire_schema(ApiKey.PRODUCE, VERSION)
    records = build_batch([(b"k", b"v")], timestamp=timestamp)
    return make(
        codec.request_class(ApiKey.PRODUCE, VERSION),
        transactional_id=None,
        acks=-1,
        timeout=5000,
        topic_data=tuple(
            make(
                s.TopicProduceData,
                name=topic,
                partition_data=(make(s.PartitionProduceData, index=0, records=records),),
            )
            for topic in topics
        ),
    )


async def test_a_topic_deleted_during_the_wait_is_that_partitions_error(tmp_path: Path) -> None:
    clock = SystemClock()
    logs = LogManager(tmp_path, fsync="always").open()
    logs.create_topic("doomed", 1, {})
    logs.create_topic("kept", 1, {})
    broker = await open_broker(BrokerConfig(data_dir=tmp_path, port=0), logs, clock)
    doomed = logs.log("doomed", 0)
    try:
        ctx = RequestContext(ApiKey.PRODUCE, VERSION, 7, "c", "127.0.0.1")
        task = asyncio.create_task(
            produce(broker, ctx, _request(["doomed", "kept"], clock.now_ms()))
        )
        await asyncio.sleep(0)  # the handler's first step: both appends (no time passes)
        assert doomed.log_end_offset == 1
        assert not task.done()
        logs.delete_topic("doomed")
        frame = await asyncio.wait_for(task, 10)
        _, response = codec.decode_response(ApiKey.PRODUCE, VERSION, frame[4:])
        answers = {
            t.name: (p.error_code, p.base_offset, p.error_message)
            for t in response.responses
            for p in t.partition_responses
        }
        assert answers == {
            "doomed": (UNKNOWN_TOPIC_OR_PARTITION, -1, "doomed was deleted"),
            "kept": (0, 0, None),
        }
        assert logs.log("kept", 0).flushed_offset == 1
        errors = broker.requests.errors_of(ApiKey.PRODUCE)
        assert errors[UNKNOWN_TOPIC_OR_PARTITION] == 1
    finally:
        await close_broker(broker)
        logs.close()
