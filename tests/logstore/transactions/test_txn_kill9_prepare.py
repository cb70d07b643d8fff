"""A real broker killed with SIGKILL after answering EndTxn and before its markers are done.

EndTxn is answered once PrepareCommit/PrepareAbort is durable in `__transaction_state`;
the markers follow. A transaction over many partitions keeps that window open long enough
for the test to kill the process in it; the data directory read before the restart proves
the kill landed there. After the restart every partition holds exactly one marker of the
decided kind, read_committed consumers see what was decided, and the producer goes on.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from logstore.records import BatchHeader, decode_records, iter_headers
from logstore.records.control import COMMIT, control_type
from logstore.transactions.state import TxnState
from logstore.transactions.txn_log import TRANSACTION_TOPIC, decode_key, decode_value
from tests.broker_fixture import BrokerProcess
from tests.clients.txn_wire import TxnWire
from tests.logstore.transactions.test_txn_wire import (
    add_partitions,
    produce,
    topic_of,
    wait_for_state,
)

PARTITIONS = 200
ATTEMPTS = 5


def batches(data_dir: Path, topic: str, partition: int) -> list[tuple[BatchHeader, memoryview]]:
    """Every batch of a partition, read from its segment files (the broker is not running)."""
    segments = sorted((data_dir / f"{topic}-{partition}").glob("*.log"))
    data = memoryview(b"".join(path.read_bytes() for path in segments))
    return [(header, data[pos : pos + header.size]) for pos, header in iter_headers(data)]


def last_state(data_dir: Path, tid: str) -> TxnState | None:
    state = None
    for header, batch in batches(data_dir, TRANSACTION_TOPIC, 0):
        if header.is_control:
            continue
        for record in decode_records(batch):
            if record.key is not None and decode_key(record.key) == tid:
                state = None if record.value is None else decode_value(tid, record.value).state
    return state


def markers(data_dir: Path, topic: str, partition: int, producer_id: int) -> list[bool]:
    """The outcome (True: COMMIT) of each of the producer's markers in the partition."""
    return [
        control_type(batch) == COMMIT
        for header, batch in batches(data_dir, topic, partition)
        if header.is_control and header.producer_id == producer_id
    ]


def visible(bootstrap: str, topic: str, isolation: str) -> int:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"k9p-{uuid.uuid4().hex[:8]}",
            "isolation.level": isolation,
            "enable.partition.eof": True,
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    seen, ended = 0, set()
    try:
        while len(ended) < PARTITIONS:
            message = consumer.poll(10)
            assert message is not None, f"read {seen}, {len(ended)} partitions ended"
            if message.error():
                ended.add(message.partition())
            else:
                seen += 1
    finally:
        consumer.close()
    return seen


@pytest.mark.parametrize("commit", [True, False], ids=["commit", "abort"])
def test_kill9_between_the_answer_and_the_markers(broker: BrokerProcess, commit: bool) -> None:
    prepared = TxnState.PREPARE_COMMIT if commit else TxnState.PREPARE_ABORT
    for attempt in range(ATTEMPTS):
        topic = topic_of(broker.bootstrap, PARTITIONS)
        tid = f"k9p-{attempt}"
        wire = TxnWire(broker.bootstrap, tid)
        assert wire.init() == 0
        pid = wire.producer_id
        added = add_partitions(wire, 3, {topic: list(range(PARTITIONS))})
        assert {code for *_, code in added} == {0}
        for partition in range(PARTITIONS):
            assert produce(wire, topic, partition) == 0
        assert wire.end(commit=commit) == 0
        broker.kill9()
        wire.close()
        state = last_state(broker.data_dir, tid)
        before = [markers(broker.data_dir, topic, p, pid) for p in range(PARTITIONS)]
        broker.start()
        if state is prepared:
            break
        assert state in (TxnState.COMPLETE_COMMIT, TxnState.COMPLETE_ABORT)
    else:
        pytest.fail(f"none of {ATTEMPTS} kills landed before the markers were complete")
    # What the kill interrupted: the decision durable, at most one marker per partition.
    assert all(m in ([], [commit]) for m in before)
    wire = TxnWire(broker.bootstrap, tid)
    title = "CompleteCommit" if commit else "CompleteAbort"
    assert wait_for_state(wire, title) == title
    after = [markers(broker.data_dir, topic, p, pid) for p in range(PARTITIONS)]
    assert after == [[commit]] * PARTITIONS  # each written once, none twice
    assert visible(broker.bootstrap, topic, "read_committed") == (PARTITIONS if commit else 0)
    assert visible(broker.bootstrap, topic, "read_uncommitted") == PARTITIONS
    # The same producer goes on at the next epoch.
    wire.producer_id, wire.epoch = pid, 0
    assert wire.init() == 0
    assert (wire.producer_id, wire.epoch) == (pid, 1)
    wire.close()
