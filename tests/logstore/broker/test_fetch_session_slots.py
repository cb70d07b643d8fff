"""`--max-incremental-fetch-session-cache-slots`: the broker flag reaches the Fetch handler.

A real broker answers a full Fetch v11 (epoch 0) with a new session id by default and with
session 0 when it may keep no sessions; a negative value is refused at start-up.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from logstore.__main__ import main
from tests.broker_fixture import BrokerProcess, start_broker
from tests.logstore.broker.wire import Wire, schema

FETCH = 1


def full_fetch_session_id(broker: BrokerProcess) -> tuple[int, int]:
    s = schema(FETCH, 11)
    with Wire(broker.bootstrap) as wire:
        part = s.FetchPartition(
            partition=0,
            current_leader_epoch=-1,
            fetch_offset=0,
            log_start_offset=-1,
            partition_max_bytes=1 << 20,
        )
        reply = wire.request(
            FETCH,
            11,
            replica_id=-1,
            max_wait=0,
            min_bytes=0,
            max_bytes=1 << 20,
            isolation_level=0,
            session_id=0,
            session_epoch=0,
            topics=(s.FetchTopic(topic="missing-topic", partitions=(part,)),),
            forgotten_topics_data=(),
            rack_id="",
        )
    return int(reply.error_code), reply.session_id


@pytest.mark.parametrize(
    ("args", "opens"), [((), True), (("--max-incremental-fetch-session-cache-slots", "0"), False)]
)
def test_slots_decide_whether_a_full_fetch_opens_a_session(
    tmp_path: Path, args: tuple[str, ...], opens: bool
) -> None:
    broker = start_broker(tmp_path / "data", args=args)
    try:
        error, session_id = full_fetch_session_id(broker)
    finally:
        broker.stop()
    assert error == 0
    assert (session_id != 0) == opens


def test_negative_slots_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    argv = ["serve", "--data-dir", str(data), "--max-incremental-fetch-session-cache-slots", "-1"]
    assert main(argv) == 2
    assert "fetch session cache slots cannot be negative" in capsys.readouterr().err
    assert not data.exists()
