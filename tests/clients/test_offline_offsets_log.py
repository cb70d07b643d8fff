"""Damage in `__consumer_offsets` below its recovery point: the broker still starts, says
so in its log, and the group coordinator is unavailable (COORDINATOR_NOT_AVAILABLE, 15,
at once), as Kafka's is while that partition has no leader. It never answers as if
nothing had been committed, which would send consumers back to auto.offset.reset."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kio.schema.find_coordinator.v3.request import FindCoordinatorRequest
from kio.schema.offset_fetch.v7.request import OffsetFetchRequest, OffsetFetchRequestTopic

from logstore.broker.build import make
from logstore.protocol.api_keys import ApiKey
from tests.broker_fixture import BrokerProcess
from tests.clients.offline import Wire

COORDINATOR_NOT_AVAILABLE = 15
GROUP = "kept-offsets"


def test_damaged_offsets_log_makes_the_coordinator_unavailable(broker: BrokerProcess) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap, "log_level": 3})
    admin.create_topics([NewTopic("data", 1, 1)])["data"].result(10)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "log_level": 3})
    producer.produce("data", b"x", partition=0)
    assert producer.flush(10) == 0
    committer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": GROUP})
    for offset in range(1, 21):
        committer.commit(offsets=[TopicPartition("data", 0, offset)], asynchronous=False)
    committer.close()
    broker.restart()  # a clean open checkpoints the recovery point at the log end
    broker.kill9()
    (segment,) = (broker.data_dir / "__consumer_offsets-0").glob("*.log")
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0x55  # inside one of the twenty commits' batches
    segment.write_bytes(bytes(data))

    broker.start()
    lines = [line for line in broker.log_path.read_text().splitlines() if "is offline" in line]
    assert len(lines) == 1
    assert "partition __consumer_offsets-0 is offline" in lines[0]

    wire = Wire(broker.bootstrap)
    start = time.monotonic()
    found = wire.call(
        ApiKey.FIND_COORDINATOR, 3, make(FindCoordinatorRequest, key=GROUP, key_type=0)
    )
    assert found.error_code == COORDINATOR_NOT_AVAILABLE
    assert found.node_id == -1
    fetched = wire.call(
        ApiKey.OFFSET_FETCH,
        7,
        make(
            OffsetFetchRequest,
            group_id=GROUP,
            topics=(make(OffsetFetchRequestTopic, name="data", partition_indexes=(0,)),),
            require_stable=False,
        ),
    )
    assert fetched.error_code == COORDINATOR_NOT_AVAILABLE
    assert time.monotonic() - start < 3.0  # at once, not after a client timeout
    wire.close()

    # Everything that needs no group keeps working.
    producer = Producer({"bootstrap.servers": broker.bootstrap, "log_level": 3})
    producer.produce("data", b"y", partition=0)
    assert producer.flush(10) == 0
    reader = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused"})
    reader.assign([TopicPartition("data", 0, 0)])
    values = []
    while len(values) < 2:
        msg = reader.poll(10)
        assert msg is not None
        assert msg.error() is None
        values.append(msg.value())
    reader.close()
    assert values == [b"x", b"y"]
