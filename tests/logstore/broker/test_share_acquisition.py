"""How much one ShareFetch acquires, over the wire against a real broker process.

Batch-optimized acquisition takes whole batches until MaxRecords is reached (the batch
crossing it included, as Kafka does) and never past the in-flight cap of 2,000 records per
share-partition (`group.share.partition.max.record.locks`); record_limit stops at
MaxRecords exactly. Three batches of 1,000 records are produced raw, so the boundaries are
known.
"""

from __future__ import annotations

import uuid

from logstore.broker.build import make
from logstore.protocol.api_keys import ApiKey
from logstore.records.builder import build_batch
from tests.broker_fixture import BrokerProcess
from tests.clients.share_groups import configure_group
from tests.logstore.broker.share_wire import Member
from tests.logstore.broker.wire import Wire, schema

BATCH = 1000


def _topic_with_three_batches(wire: Wire, topic: str) -> None:
    create = schema(ApiKey.CREATE_TOPICS, 7)
    wire.request(
        ApiKey.CREATE_TOPICS, 7, timeout=10_000, validate_only=False,
        topics=(make(create.CreatableTopic, name=topic, num_partitions=1,
                     replication_factor=1, assignments=(), configs=()),),
    )  # fmt: skip
    produce = schema(ApiKey.PRODUCE, 9)
    for n in range(3):
        batch = build_batch([(None, b"v%d" % i) for i in range(BATCH)], timestamp=n)
        reply = wire.request(
            ApiKey.PRODUCE, 9, transactional_id=None, acks=-1, timeout=10_000,
            topic_data=(make(produce.TopicProduceData, name=topic, partition_data=(
                make(produce.PartitionProduceData, index=0, records=batch),)),),
        )  # fmt: skip
        assert reply.responses[0].partition_responses[0].error_code == 0


def test_acquisition_follows_batches_max_records_and_the_in_flight_cap(
    shared_broker: BrokerProcess,
) -> None:
    topic = f"share-acq-{uuid.uuid4().hex[:8]}"
    group = configure_group(shared_broker.bootstrap)
    with Wire(shared_broker.bootstrap) as wire:
        _topic_with_three_batches(wire, topic)
        m = Member(wire, group, topic)
        # 10 records asked: the whole first batch comes (Kafka's batch alignment).
        assert m.fetch(10) == [(0, 999)]
        # 5,000 asked, but 1,000 more reach the cap of 2,000 in flight.
        assert m.fetch(5000) == [(1000, 1999)]
        assert m.fetch(5000) == []
        # Accepting the first batch makes room for the third.
        assert m.fetch(5000, acks=(0, 999)) == [(2000, 2999)]


def test_record_limit_stops_at_max_records(shared_broker: BrokerProcess) -> None:
    topic = f"share-acq-{uuid.uuid4().hex[:8]}"
    group = configure_group(shared_broker.bootstrap)
    with Wire(shared_broker.bootstrap) as wire:
        _topic_with_three_batches(wire, topic)
        m = Member(wire, group, topic)
        assert m.fetch(10, mode=1) == [(0, 9)]
        assert m.fetch(10, mode=1) == [(10, 19)]
