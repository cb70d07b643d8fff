"""WriteTxnMarkers on the wire of a real broker process: advertised at Kafka's versions,
CLUSTER_AUTHORIZATION_FAILED for every partition when the authorizer refuses
CLUSTER_ACTION, Kafka's per-partition codes (unknown partition, an older producer epoch,
an older coordinator epoch), and an abort that ends a hanging transaction: the LSO moves
to the log end and the coordinator, timing the transaction out later, writes no second
marker there."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from logstore import error_codes as ec
from logstore.protocol.api_keys import ApiKey
from tests.broker_fixture import start_broker
from tests.clients.test_groups_wire import nested, request
from tests.clients.txn_wire import TxnWire
from tests.logstore.transactions.test_txn_wire import (
    SWEEP_ARGS,
    add_partitions,
    produce,
    state_of,
    topic_of,
    wait_for_state,
)

API = ApiKey.WRITE_TXN_MARKERS


def write_markers(
    wire: TxnWire,
    parts: dict[str, list[int]],
    *,
    epoch: int,
    coordinator_epoch: int = 0,
    commit: bool = False,
    version: int = 2,
) -> list[tuple[str, int, int]]:
    topics = tuple(
        nested(API, version, "WritableTxnMarkerTopic", name=t, partition_indexes=tuple(ps))
        for t, ps in parts.items()
    )
    marker = nested(
        API,
        version,
        "WritableTxnMarker",
        producer_id=wire.producer_id,
        producer_epoch=epoch,
        transaction_result=commit,
        topics=topics,
        coordinator_epoch=coordinator_epoch,
    )
    answer = wire.client.call(API, version, request(API, version, markers=(marker,)))
    (result,) = answer.markers
    assert result.producer_id == wire.producer_id
    return [(t.name, p.partition_index, p.error_code) for t in result.topics for p in t.partitions]


def offsets(wire: TxnWire, topic: str, partition: int) -> tuple[int, int]:
    """(latest read_uncommitted, latest read_committed) from ListOffsets v5."""
    out = []
    for isolation in (0, 1):
        api = ApiKey.LIST_OFFSETS
        part = nested(api, 5, "ListOffsetsPartition", partition_index=partition, timestamp=-1)
        topics = (nested(api, 5, "ListOffsetsTopic", name=topic, partitions=(part,)),)
        req = request(api, 5, replica_id=-1, isolation_level=isolation, topics=topics)
        answer: Any = wire.client.call(api, 5, req)
        out.append(int(answer.topics[0].partitions[0].offset))
    return out[0], out[1]


def test_advertised_at_kafkas_versions(shared_broker) -> None:
    wire = TxnWire(shared_broker.bootstrap, "unused")
    answer = wire.client.call(
        ApiKey.API_VERSIONS,
        3,
        request(ApiKey.API_VERSIONS, 3, client_software_name="t", client_software_version="1"),
    )
    ranges = {k.api_key: (k.min_version, k.max_version) for k in answer.api_keys}
    assert ranges[API] == (1, 2)
    wire.close()


def test_refusals_and_an_abort_ending_a_hanging_transaction(tmp_path: Path) -> None:
    broker = start_broker(tmp_path / "data", SWEEP_ARGS)
    try:
        topic = topic_of(broker.bootstrap)
        wire = TxnWire(broker.bootstrap, f"tx-{uuid.uuid4().hex[:8]}")
        assert wire.init(version=4, timeout_ms=3_000) == 0
        assert wire.init(version=4, timeout_ms=3_000) == 0  # epoch 1: 0 is older
        assert add_partitions(wire, 3, {topic: [0, 1]}) == [(topic, 0, 0), (topic, 1, 0)]
        assert produce(wire, topic, 0) == 0
        assert produce(wire, topic, 1) == 0
        assert offsets(wire, topic, 0) == (1, 0)
        unknown = write_markers(
            wire, {topic: [7], f"missing-{uuid.uuid4().hex[:6]}": [0]}, epoch=wire.epoch
        )
        assert [code for *_, code in unknown] == [ec.UNKNOWN_TOPIC_OR_PARTITION] * 2
        assert write_markers(wire, {topic: [0]}, epoch=wire.epoch - 1) == [
            (topic, 0, ec.INVALID_PRODUCER_EPOCH)
        ]
        # What `kafka-transactions.sh abort` sends: the producer's epoch, coordinator epoch.
        assert write_markers(
            wire, {topic: [0]}, epoch=wire.epoch, coordinator_epoch=5, version=1
        ) == [(topic, 0, 0)]
        assert offsets(wire, topic, 0) == (2, 2)  # the marker ends it: LSO = end
        assert write_markers(wire, {topic: [0]}, epoch=wire.epoch, coordinator_epoch=4) == [
            (topic, 0, ec.TRANSACTION_COORDINATOR_FENCED)
        ]
        assert offsets(wire, topic, 1) == (1, 0)  # the other partition is still open
        # The coordinator's own abort at the timeout ends partition 1 only.
        assert wait_for_state(wire, "CompleteAbort") == "CompleteAbort"
        assert offsets(wire, topic, 0) == (2, 2)
        assert offsets(wire, topic, 1) == (2, 2)
        assert state_of(wire) == "CompleteAbort"
        wire.close()
    finally:
        broker.stop()


def test_cluster_action_refused_for_every_partition(tmp_path: Path) -> None:
    config = tmp_path / "server.properties"
    config.write_text(
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer\n"
        "allow.everyone.if.no.acl.found=false\n"
    )
    broker = start_broker(tmp_path / "data", ["--config", str(config)])
    try:
        wire = TxnWire(broker.bootstrap, "unused")
        wire.producer_id = 1
        answer = write_markers(wire, {"a": [0, 1], "b": [0]}, epoch=0)
        assert answer == [
            ("a", 0, ec.CLUSTER_AUTHORIZATION_FAILED),
            ("a", 1, ec.CLUSTER_AUTHORIZATION_FAILED),
            ("b", 0, ec.CLUSTER_AUTHORIZATION_FAILED),
        ]
        wire.close()
    finally:
        broker.stop()
