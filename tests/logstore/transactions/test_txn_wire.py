"""The transaction APIs on the wire of a real broker process: every misuse answered with
the code Kafka gives that version, KIP-890's produce check, List/DescribeTransactions,
a timed-out transaction aborted and its producer fenced by the broker's own sweep, and
the coordinator's state across a graceful restart and `kill -9`."""

from __future__ import annotations

import struct
import time
import uuid
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from logstore import error_codes as ec
from logstore.protocol import codec
from logstore.protocol.api_keys import ApiKey
from logstore.records import build_batch
from tests.broker_fixture import BrokerProcess, start_broker
from tests.clients.test_groups_wire import nested, request
from tests.clients.txn_wire import TxnWire

SWEEP_ARGS = ("--transaction-abort-timed-out-transaction-cleanup-interval-ms", "50")


def topic_of(bootstrap: str, partitions: int = 2) -> str:
    name = f"txw-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(10)
    return name


def add_partitions(
    wire: TxnWire, version: int, parts: dict[str, list[int]], *, epoch: int | None = None
) -> list[tuple[str, int, int]]:
    api = ApiKey.ADD_PARTITIONS_TO_TXN
    topics = tuple(
        nested(api, version, "AddPartitionsToTxnTopic", name=t, partitions=tuple(ps))
        for t, ps in parts.items()
    )
    answer = wire.client.call(
        api,
        version,
        request(
            api,
            version,
            v3_and_below_transactional_id=wire.transactional_id,
            v3_and_below_producer_id=wire.producer_id,
            v3_and_below_producer_epoch=wire.epoch if epoch is None else epoch,
            v3_and_below_topics=topics,
        ),
    )
    return [
        (t.name, p.partition_index, p.partition_error_code)
        for t in answer.results_by_topic_v3_and_below
        for p in t.results_by_partition
    ]


def produce(wire: TxnWire, topic: str, partition: int, seq: int = 0) -> int:
    batch = build_batch(
        [(None, b"x")],
        producer_id=wire.producer_id,
        producer_epoch=wire.epoch,
        base_sequence=seq,
        transactional=True,
    )
    api = ApiKey.PRODUCE
    data = nested(
        api,
        9,
        "TopicProduceData",
        name=topic,
        partition_data=(nested(api, 9, "PartitionProduceData", index=partition, records=batch),),
    )
    req = request(
        api, 9, transactional_id=wire.transactional_id, acks=-1, timeout=5000, topic_data=(data,)
    )
    answer = wire.client.call(api, 9, req)
    return int(answer.responses[0].partition_responses[0].error_code)


def describe(wire: TxnWire, *ids: str) -> list[Any]:
    api = ApiKey.DESCRIBE_TRANSACTIONS
    answer = wire.client.call(api, 0, request(api, 0, transactional_ids=ids))
    return list(answer.transaction_states)


def describe_raw(wire: TxnWire, tid: str) -> bytes:
    """DescribeTransactions v0's response bytes after the length prefix and correlation id."""
    client = wire.client
    client.correlation += 1
    api = ApiKey.DESCRIBE_TRANSACTIONS
    header = codec.RequestHeader(api, 0, client.correlation, "wire-test")
    client.sock.sendall(codec.encode_request(header, request(api, 0, transactional_ids=(tid,))))
    (size,) = struct.unpack(">i", client._read(4))
    return client._read(size)[4:]


def listed(wire: TxnWire, *states: str, version: int = 1) -> tuple[Any, ...]:
    api = ApiKey.LIST_TRANSACTIONS
    answer = wire.client.call(
        api, version, request(api, version, state_filters=states, producer_id_filters=())
    )
    assert answer.error_code == 0
    return answer


def state_of(wire: TxnWire) -> str:
    """From ListTransactions: kio cannot read DescribeTransactions' start time of -1 (what
    Kafka answers too for a transaction that is not open)."""
    states = listed(wire).transaction_states
    return next(
        str(s.transaction_state) for s in states if s.transactional_id == wire.transactional_id
    )


def test_misuse_codes_per_version_and_the_produce_check(shared_broker) -> None:
    topic = topic_of(shared_broker.bootstrap)
    tid = f"tx-{uuid.uuid4().hex[:8]}"
    wire = TxnWire(shared_broker.bootstrap, tid)
    assert wire.find_coordinator() == 0
    assert wire.init(version=3, timeout_ms=900_001) == ec.INVALID_TRANSACTION_TIMEOUT
    assert wire.init(version=3) == 0
    assert wire.epoch == 0
    assert wire.end(commit=True) == ec.INVALID_TXN_STATE
    assert produce(wire, topic, 0) == ec.INVALID_TXN_STATE  # not added (KIP-890)
    # One unknown partition fails the request: the others are not attempted.
    assert sorted(add_partitions(wire, 1, {topic: [0, 9]})) == [
        (topic, 0, ec.OPERATION_NOT_ATTEMPTED),
        (topic, 9, ec.UNKNOWN_TOPIC_OR_PARTITION),
    ]
    # A wrong epoch is INVALID_PRODUCER_EPOCH before v2, PRODUCER_FENCED from v2.
    assert add_partitions(wire, 1, {topic: [0]}, epoch=5) == [(topic, 0, ec.INVALID_PRODUCER_EPOCH)]
    assert add_partitions(wire, 2, {topic: [0]}, epoch=5) == [(topic, 0, ec.PRODUCER_FENCED)]
    assert add_partitions(wire, 3, {topic: [0]}) == [(topic, 0, 0)]
    assert produce(wire, topic, 0) == 0
    assert produce(wire, topic, 1) == ec.INVALID_TXN_STATE
    (desc,) = describe(wire, tid)
    assert desc.error_code == 0
    assert (desc.transaction_state, desc.producer_id, desc.producer_epoch) == (
        "Ongoing",
        wire.producer_id,
        0,
    )
    assert [(t.topic, tuple(t.partitions)) for t in desc.topics] == [(topic, (0,))]
    ongoing = listed(wire, "Ongoing")
    assert (tid, wire.producer_id) in {
        (s.transactional_id, s.producer_id) for s in ongoing.transaction_states
    }
    assert tuple(listed(wire, "Bogus").unknown_state_filters) == ("Bogus",)
    assert wire.end(commit=True) == 0
    assert wire.end(commit=True) == 0  # a retry
    assert wire.end(commit=False) == ec.INVALID_TXN_STATE
    assert state_of(wire) == "CompleteCommit"
    good_epoch = wire.epoch
    wire.epoch = good_epoch + 1
    assert wire.end(commit=True, version=1) == ec.INVALID_PRODUCER_EPOCH
    assert wire.end(commit=True, version=2) == ec.PRODUCER_FENCED
    assert wire.add_offsets("g", version=1) == ec.INVALID_PRODUCER_EPOCH
    assert wire.add_offsets("g", version=2) == ec.PRODUCER_FENCED
    wire.producer_id += 1
    assert wire.end(commit=True) == ec.INVALID_PRODUCER_ID_MAPPING
    # Raw bytes: kio cannot read the -1 start time Kafka also answers for an unknown id.
    # (flexible: compact strings and arrays, tagged-field bytes)
    assert describe_raw(wire, "no-such-id") == (
        b"\x00" + struct.pack(">i", 0) + b"\x02"  # header tags, throttle, one state
        + struct.pack(">h", ec.TRANSACTIONAL_ID_NOT_FOUND) + b"\x0bno-such-id" + b"\x01"
        + struct.pack(">iqqh", 0, -1, -1, -1) + b"\x01\x00\x00"
    )  # fmt: skip
    wire.close()


def test_a_second_producer_fences_the_first_and_aborts_its_transaction(shared_broker) -> None:
    topic = topic_of(shared_broker.bootstrap)
    tid = f"tx-{uuid.uuid4().hex[:8]}"
    old, new = TxnWire(shared_broker.bootstrap, tid), TxnWire(shared_broker.bootstrap, tid)
    assert old.init(version=4) == 0
    assert add_partitions(old, 3, {topic: [1]}) == [(topic, 1, 0)]
    assert produce(old, topic, 1) == 0
    # The new incarnation waits (CONCURRENT_TRANSACTIONS, retried) for the abort.
    assert new.init(version=4) == 0
    assert (new.producer_id, new.epoch) == (old.producer_id, old.epoch + 2)
    assert old.end(commit=True, version=1) == ec.INVALID_PRODUCER_EPOCH
    assert produce(old, topic, 1, seq=1) == ec.INVALID_PRODUCER_EPOCH
    # KIP-360: the old incarnation naming its stale epoch is fenced (v4 words it so).
    api = ApiKey.INIT_PRODUCER_ID
    stale = old.client.call(
        api,
        4,
        request(
            api,
            4,
            transactional_id=tid,
            transaction_timeout=60_000,
            producer_id=old.producer_id,
            producer_epoch=old.epoch,
        ),
    )
    assert stale.error_code == ec.PRODUCER_FENCED
    old.close()
    new.close()


def wait_for_state(wire: TxnWire, state: str, deadline_s: float = 20.0) -> str:
    """Poll until the broker's sweep has acted (it runs on the broker's real clock)."""
    end = time.monotonic() + deadline_s
    current = state_of(wire)
    while current != state and time.monotonic() < end:
        time.sleep(0.05)
        current = state_of(wire)
    return current


def test_timed_out_transaction_is_aborted_and_fenced(tmp_path) -> None:
    broker = start_broker(tmp_path / "data", SWEEP_ARGS)
    try:
        topic = topic_of(broker.bootstrap)
        wire = TxnWire(broker.bootstrap, "slow")
        assert wire.init(timeout_ms=200) == 0
        assert add_partitions(wire, 3, {topic: [0]}) == [(topic, 0, 0)]
        assert produce(wire, topic, 0) == 0
        assert wait_for_state(wire, "CompleteAbort") == "CompleteAbort"
        assert wire.end(commit=True, version=1) == ec.INVALID_PRODUCER_EPOCH
        wire.epoch += 1  # the sweep's bump
        assert wire.end(commit=False, version=1) == 0  # the abort already happened
        wire.close()
    finally:
        broker.stop()


def test_state_survives_graceful_restart_and_kill9(broker: BrokerProcess) -> None:
    topic = topic_of(broker.bootstrap)
    wire = TxnWire(broker.bootstrap, "durable")
    assert wire.init() == 0
    assert add_partitions(wire, 3, {topic: [0, 1]}) == [(topic, 0, 0), (topic, 1, 0)]
    pid = wire.producer_id
    wire.close()
    broker.kill9()
    broker.start()
    wire = TxnWire(broker.bootstrap, "durable")
    wire.producer_id, wire.epoch = pid, 0
    (desc,) = describe(wire, "durable")
    assert (desc.transaction_state, desc.producer_id) == ("Ongoing", pid)
    assert sorted((t.topic, tuple(t.partitions)) for t in desc.topics) == [(topic, (0, 1))]
    assert produce(wire, topic, 1) == 0
    assert wire.end(commit=True) == 0
    wire.close()
    broker.restart()
    wire = TxnWire(broker.bootstrap, "durable")
    assert state_of(wire) == "CompleteCommit"
    assert wire.init() == 0
    assert (wire.producer_id, wire.epoch) == (pid, 1)
    wire.close()


@pytest.mark.parametrize("state", ["Empty", "Ongoing", "CompleteCommit", "CompleteAbort"])
def test_kill9_in_each_settled_state_keeps_it(broker: BrokerProcess, state: str) -> None:
    """(PrepareCommit/PrepareAbort: test_txn_kill9_prepare.py.)"""
    topic = topic_of(broker.bootstrap)
    wire = TxnWire(broker.bootstrap, "k9")
    assert wire.init() == 0
    if state != "Empty":
        assert add_partitions(wire, 3, {topic: [0]}) == [(topic, 0, 0)]
        assert produce(wire, topic, 0) == 0
    if state.startswith("Complete"):
        assert wire.end(commit=state == "CompleteCommit") == 0
    assert wait_for_state(wire, state) == state  # the markers follow the answer
    pid = wire.producer_id
    wire.close()
    broker.kill9()
    broker.start()
    wire = TxnWire(broker.bootstrap, "k9")
    wire.producer_id, wire.epoch = pid, 0
    assert state_of(wire) == state
    if state == "Ongoing":
        assert produce(wire, topic, 0, seq=1) == 0  # still in the transaction
        assert wire.end(commit=False) == 0
    elif state.startswith("Complete"):
        assert wire.end(commit=state == "CompleteCommit") == 0  # a retry after the crash
    # The next incarnation continues the same producer at the next epoch.
    assert wire.init() == 0
    assert (wire.producer_id, wire.epoch) == (pid, 1)
    wire.close()


def test_damaged_transaction_log_makes_the_coordinator_unavailable(broker: BrokerProcess) -> None:
    wire = TxnWire(broker.bootstrap, "kept")
    for _ in range(20):
        assert wire.init() == 0
    wire.close()
    broker.restart()  # a clean open checkpoints the recovery point at the log end
    broker.kill9()
    (segment,) = (broker.data_dir / "__transaction_state-0").glob("*.log")
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0x55  # inside one of the twenty records' batches
    segment.write_bytes(bytes(data))
    broker.start()
    wire = TxnWire(broker.bootstrap, "kept")
    api = ApiKey.FIND_COORDINATOR
    found = wire.client.call(api, 3, request(api, 3, key="kept", key_type=1))
    assert (found.error_code, found.node_id) == (ec.COORDINATOR_NOT_AVAILABLE, -1)
    api = ApiKey.INIT_PRODUCER_ID
    init = wire.client.call(
        api, 1, request(api, 1, transactional_id="kept", transaction_timeout=60_000)
    )
    assert init.error_code == ec.COORDINATOR_NOT_AVAILABLE
    api = ApiKey.LIST_TRANSACTIONS
    answer = wire.client.call(api, 0, request(api, 0, state_filters=(), producer_id_filters=()))
    assert answer.error_code == ec.COORDINATOR_NOT_AVAILABLE
    wire.close()
