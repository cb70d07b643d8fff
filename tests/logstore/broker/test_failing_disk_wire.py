"""A real broker process on a disk whose fsyncs fail or stall, or that has no room
(`tests/faultfs.py`).

What a producer sees when the broker cannot make its write durable: KAFKA_STORAGE_ERROR
for that partition, the partition offline in Metadata (as Kafka shows a partition whose
log directory failed) until a restart recovers it, and every other partition served as
usual; the coordinators answer NOT_COORDINATOR, as Kafka's do. A stalled fsync holds only
its own producers. An idempotent producer's retry of a batch whose fsync is still running
is answered only once that fsync has finished, never before. CreateTopics without room
creates nothing, and a stalled catalogue write holds up only the topic change.
"""

from __future__ import annotations

import select
import time
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourceType,
)

from logstore.broker.build import make
from logstore.producers.ids import BLOCK
from logstore.protocol.api_keys import ApiKey
from logstore.records import build_batch
from tests.broker_fixture import BrokerProcess, start_broker
from tests.faultfs import FaultFs
from tests.logstore.broker.fetch_wire import batch_offsets, fetch_partition, list_offset
from tests.logstore.broker.wire import Wire, schema

KAFKA_STORAGE_ERROR = 56
LEADER_NOT_AVAILABLE = 5
UNKNOWN_TOPIC_OR_PARTITION = 3
NOT_COORDINATOR = 16
COORDINATOR_NOT_AVAILABLE = 15
COORDINATOR_LOAD_IN_PROGRESS = 14
PRODUCE_VERSION = 9
TIMEOUT_S = 30.0
# How long a retry must stay unanswered while its original's fsync is held. The bug this
# guards against answered it at once, so an answer within this bound is that bug.
UNANSWERED_S = 1.0


def _create_request(*topics: str) -> dict[str, Any]:
    s = schema(ApiKey.CREATE_TOPICS, 5)
    creatable = tuple(
        make(s.CreatableTopic, name=t, num_partitions=1, replication_factor=1, assignments=(),
             configs=())
        for t in topics
    )  # fmt: skip
    return {"topics": creatable, "timeout_ms": 10_000, "validate_only": False}


def _delete_request(*topics: str) -> dict[str, Any]:
    return {"topic_names": topics, "timeout": 10_000}


def _create(wire: Wire, *topics: str) -> None:
    response = wire.request(ApiKey.CREATE_TOPICS, 5, **_create_request(*topics))
    assert [t.error_code for t in response.topics] == [0] * len(topics)


def _produce_request(topics: list[str], records: bytes) -> dict[str, Any]:
    s = schema(ApiKey.PRODUCE, PRODUCE_VERSION)
    return {
        "transactional_id": None,
        "acks": -1,
        "timeout": 10_000,
        "topic_data": tuple(
            make(
                s.TopicProduceData,
                name=topic,
                partition_data=(make(s.PartitionProduceData, index=0, records=records),),
            )
            for topic in topics
        ),
    }


def _answers(response: Any) -> dict[str, tuple[int, int, str | None]]:
    return {
        t.name: (p.error_code, p.base_offset, p.error_message)
        for t in response.responses
        for p in t.partition_responses
    }


def _produce(wire: Wire, topics: list[str], records: bytes | None = None) -> dict[str, Any]:
    records = records or build_batch([(b"k", b"v")], timestamp=int(time.time() * 1000))
    request = _produce_request(topics, records)
    return _answers(wire.request(ApiKey.PRODUCE, PRODUCE_VERSION, **request))


def _leaders(wire: Wire, *topics: str) -> dict[str, tuple[int, int]]:
    s = schema(ApiKey.METADATA, 12)
    response = wire.request(
        ApiKey.METADATA,
        12,
        topics=tuple(make(s.MetadataRequestTopic, topic_id=None, name=t) for t in topics),
        allow_auto_topic_creation=False,
        include_topic_authorized_operations=False,
    )
    return {  # an unknown topic has no partitions: its own error then
        t.name: (t.partitions[0].error_code, t.partitions[0].leader_id)
        if t.partitions
        else (t.error_code, -1)
        for t in response.topics
    }


def test_a_failed_fsync_answers_storage_error_until_a_restart_recovers_the_partition(
    faultfs: FaultFs,
) -> None:
    broker = start_broker(faultfs.mountpoint / "data")  # --fsync always, the default
    try:
        with Wire(broker.bootstrap) as wire:
            _create(wire, "doomed", "steady")
            assert _produce(wire, ["doomed", "steady"]) == {
                "doomed": (0, 0, None),
                "steady": (0, 0, None),
            }
            faultfs.fail_fsync("data/doomed-0/")
            answers = _produce(wire, ["doomed", "steady"])
            code, _, message = answers["doomed"]
            assert code == KAFKA_STORAGE_ERROR
            assert "doomed-0 is offline: fsync failed (Input/output error)" in (message or "")
            assert answers["steady"] == (0, 1, None)
            # The disk answers again, but what it dropped is not acknowledged after all.
            faultfs.heal()
            assert _produce(wire, ["doomed"])["doomed"][0] == KAFKA_STORAGE_ERROR
            assert fetch_partition(wire, "doomed", 12, 0, 0).error_code == KAFKA_STORAGE_ERROR
            assert list_offset(wire, "doomed", -1, 0)[0] == KAFKA_STORAGE_ERROR
            assert _leaders(wire, "doomed", "steady") == {
                "doomed": (LEADER_NOT_AVAILABLE, -1),
                "steady": (0, 0),
            }
        _refused_by_a_real_producer(broker.bootstrap)
        assert broker.stop() == 0  # an offline partition does not stop a clean shutdown
        broker.start()
        with Wire(broker.bootstrap) as wire:
            assert _leaders(wire, "doomed") == {"doomed": (0, 0)}
            # Recovery keeps what reached the disk: here the write itself had succeeded.
            assert _produce(wire, ["doomed"]) == {"doomed": (0, 2, None)}
            doomed = fetch_partition(wire, "doomed", 12, 0, 0)
            assert [offset for offset, _ in batch_offsets(doomed.records)] == [0, 1, 2]
            # Two from the wire, one from librdkafka.
            assert list_offset(wire, "steady", -1, 0) == (0, 3, -1)
    finally:
        faultfs.heal()  # a held fsync would keep the process from dying
        broker.kill9()


def _refused_by_a_real_producer(bootstrap: str) -> None:
    """librdkafka retries the storage error and finally reports the record undelivered."""
    reports: list[KafkaError | None] = []
    producer = Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "message.timeout.ms": 3000,
         "log_level": 3}
    )  # fmt: skip
    producer.produce("doomed", b"never acknowledged", on_delivery=lambda e, _: reports.append(e))
    producer.produce("steady", b"acknowledged", on_delivery=lambda e, _: reports.append(e))
    assert producer.flush(TIMEOUT_S) == 0
    errors = sorted(str(e.code()) if e else "ok" for e in reports)
    assert errors == [str(KafkaError._MSG_TIMED_OUT), "ok"]


def _init_producer(wire: Wire, transactional_id: str | None = None) -> Any:
    return wire.request(
        ApiKey.INIT_PRODUCER_ID,
        4,
        transactional_id=transactional_id,
        transaction_timeout=60_000,
        producer_id=-1,
        producer_epoch=-1,
    )


def test_a_retry_is_answered_only_once_its_original_is_durable(faultfs: FaultFs) -> None:
    broker: BrokerProcess = start_broker(faultfs.mountpoint / "data")
    try:
        with Wire(broker.bootstrap) as first, Wire(broker.bootstrap) as retry:
            _create(first, "held")
            init = _init_producer(first)
            assert init.error_code == 0
            records = build_batch(
                [(b"k", b"v")],
                timestamp=int(time.time() * 1000),
                producer_id=init.producer_id,
                producer_epoch=init.producer_epoch,
                base_sequence=0,
            )
            request = _produce_request(["held"], records)
            faultfs.hold_fsync("data/held-0/")
            first.send_request(ApiKey.PRODUCE, PRODUCE_VERSION, **request)
            with Wire(broker.bootstrap) as probe:  # the original is in the log
                while list_offset(probe, "held", -1, 0)[1] < 1:
                    time.sleep(0.01)
            # The producer gave up on its connection and sends the batch again.
            retry.send_request(ApiKey.PRODUCE, PRODUCE_VERSION, **request)
            readable, _, _ = select.select([first.sock, retry.sock], [], [], UNANSWERED_S)
            assert readable == []  # neither is durable yet, so neither is acknowledged
            faultfs.heal()
            for wire in (first, retry):
                answer = _answers(wire.read_response(ApiKey.PRODUCE, PRODUCE_VERSION))
                assert answer == {"held": (0, 0, None)}
            assert list_offset(first, "held", -1, 0) == (0, 1, -1)  # written once
    finally:
        faultfs.heal()  # a held fsync would keep the process from dying
        broker.kill9()


def _commit(wire: Wire, group: str, topic: str, offset: int) -> int:
    s = schema(ApiKey.OFFSET_COMMIT, 8)
    partition = make(
        s.OffsetCommitRequestPartition,
        partition_index=0,
        committed_offset=offset,
        committed_leader_epoch=-1,
        committed_metadata="",
    )
    response = wire.request(
        ApiKey.OFFSET_COMMIT,
        8,
        group_id=group,
        generation_id_or_member_epoch=-1,
        member_id="",
        group_instance_id=None,
        topics=(make(s.OffsetCommitRequestTopic, name=topic, partitions=(partition,)),),
    )
    return response.topics[0].partitions[0].error_code


def _coordinator_error(wire: Wire, group: str) -> int:
    response = wire.request(ApiKey.FIND_COORDINATOR, 4, key_type=0, coordinator_keys=(group,))
    return response.coordinators[0].error_code


def test_a_failed_fsync_of_the_offsets_log_is_not_coordinator_then_unavailable(
    faultfs: FaultFs,
) -> None:
    """As Kafka's group coordinator: a commit its log could not make durable is answered
    NOT_COORDINATOR (the client looks for the coordinator again), which then answers
    COORDINATOR_NOT_AVAILABLE until a restart recovers the log."""
    broker = start_broker(faultfs.mountpoint / "data")
    try:
        with Wire(broker.bootstrap) as wire:
            _create(wire, "orders")
            assert _coordinator_error(wire, "billing") == 0
            assert _commit(wire, "billing", "orders", 1) == 0
            faultfs.fail_fsync("data/__consumer_offsets-")
            assert _commit(wire, "billing", "orders", 2) == NOT_COORDINATOR
            faultfs.heal()
            assert _coordinator_error(wire, "billing") == COORDINATOR_NOT_AVAILABLE
            assert _produce(wire, ["orders"]) == {"orders": (0, 0, None)}  # data is served
        broker.stop()
        broker.start()
        with Wire(broker.bootstrap) as wire:
            assert _coordinator_error(wire, "billing") == 0
            assert _commit(wire, "billing", "orders", 3) == 0
    finally:
        faultfs.heal()
        broker.kill9()


def _init_transactional(wire: Wire, transactional_id: str) -> tuple[int, int]:
    response = _init_producer(wire, transactional_id)
    return response.error_code, response.producer_epoch


def test_a_failed_fsync_of_the_transaction_log_is_not_coordinator_then_unavailable(
    faultfs: FaultFs,
) -> None:
    """The transaction coordinator answers as Kafka's does."""
    broker = start_broker(faultfs.mountpoint / "data")
    try:
        with Wire(broker.bootstrap) as wire:
            assert _init_transactional(wire, "payments") == (0, 0)
            faultfs.fail_fsync("data/__transaction_state-")
            assert _init_transactional(wire, "payments")[0] == NOT_COORDINATOR
            faultfs.heal()
            assert _init_transactional(wire, "payments")[0] == COORDINATOR_NOT_AVAILABLE
        broker.stop()
        broker.start()
        with Wire(broker.bootstrap) as wire:
            # The bump to epoch 1 whose fsync failed did reach this disk, and recovery
            # keeps what is intact: the next bump is to 2.
            assert _init_transactional(wire, "payments") == (0, 2)
    finally:
        faultfs.heal()
        broker.kill9()


def test_a_stalled_fsync_holds_only_the_producers_waiting_for_it(faultfs: FaultFs) -> None:
    """The disk stops answering fsyncs: acks=all producers wait, and everything else
    (Metadata, acks=1 produce, fetch, ListOffsets) is served meanwhile, because no fsync
    runs on the event loop.

    The acks=1 producer writes to another partition: FUSE's kernel side holds a file's
    inode lock until the daemon answers its fsync, so a write to the very file whose fsync
    hangs waits for it too, in the kernel (ext4's fsync holds no lock writers take). Before,
    it wrote to the same partition and passed only when the fsync had not reached the
    daemon yet (it failed every time on a loaded machine)."""
    broker = start_broker(faultfs.mountpoint / "data")
    try:
        with Wire(broker.bootstrap) as durable, Wire(broker.bootstrap) as other:
            _create(durable, "stalled")
            _create(durable, "steady")
            faultfs.hold_fsync("data/")
            durable.send_request(ApiKey.PRODUCE, PRODUCE_VERSION, **_produce_request(
                ["stalled"], build_batch([(b"k", b"all")], timestamp=int(time.time() * 1000))
            ))  # fmt: skip
            while list_offset(other, "stalled", -1, 0)[1] < 1:  # appended, not yet synced
                time.sleep(0.01)
            assert _leaders(other, "stalled") == {"stalled": (0, 0)}
            quick = _produce_request(
                ["steady"], build_batch([(b"k", b"one")], timestamp=int(time.time() * 1000))
            )
            answer = _answers(other.request(ApiKey.PRODUCE, PRODUCE_VERSION, **quick | {"acks": 1}))
            assert answer == {"steady": (0, 0, None)}
            fetched = fetch_partition(other, "stalled", 12, 0, 0)
            assert [offset for offset, _ in batch_offsets(fetched.records)] == [0]
            assert list_offset(other, "stalled", -1, 0) == (0, 1, -1)
            assert list_offset(other, "steady", -1, 0) == (0, 1, -1)
            readable, _, _ = select.select([durable.sock], [], [], 0)
            assert readable == []  # the acks=all produce still waits for its fsync
            faultfs.heal()
            answer = _answers(durable.read_response(ApiKey.PRODUCE, PRODUCE_VERSION))
            assert answer == {"stalled": (0, 0, None)}
    finally:
        faultfs.heal()
        broker.kill9()


def test_a_stalled_catalogue_write_holds_only_the_topic_change(faultfs: FaultFs) -> None:
    """The topic catalogue is written in a thread: while its fsync hangs, CreateTopics and
    DeleteTopics wait, the topic is not created or deleted yet, and every other client is
    served, acks=all producers to existing topics included (before, the catalogue was
    fsynced on the event loop, and every client waited for the disk)."""
    broker = start_broker(faultfs.mountpoint / "data")
    try:
        with Wire(broker.bootstrap) as admin, Wire(broker.bootstrap) as other:
            _create(admin, "steady")
            faultfs.hold_fsync("data/catalogue")
            admin.send_request(ApiKey.CREATE_TOPICS, 5, **_create_request("fresh"))
            assert _produce(other, ["steady"]) == {"steady": (0, 0, None)}
            assert _leaders(other, "steady", "fresh") == {
                "steady": (0, 0),
                "fresh": (UNKNOWN_TOPIC_OR_PARTITION, -1),
            }
            readable, _, _ = select.select([admin.sock], [], [], 0)
            assert readable == []  # CreateTopics waits for the catalogue
            faultfs.heal()
            created = admin.read_response(ApiKey.CREATE_TOPICS, 5)
            assert [(t.name, t.error_code) for t in created.topics] == [("fresh", 0)]
            assert _produce(other, ["fresh"]) == {"fresh": (0, 0, None)}

            faultfs.hold_fsync("data/catalogue")
            admin.send_request(ApiKey.DELETE_TOPICS, 4, **_delete_request("steady"))
            assert _produce(other, ["steady"]) == {"steady": (0, 1, None)}  # still there
            readable, _, _ = select.select([admin.sock], [], [], 0)
            assert readable == []
            faultfs.heal()
            deleted = admin.read_response(ApiKey.DELETE_TOPICS, 4)
            assert [(t.name, t.error_code) for t in deleted.responses] == [("steady", 0)]
            assert _leaders(other, "steady") == {"steady": (UNKNOWN_TOPIC_OR_PARTITION, -1)}
        broker.kill9()
        broker.start()
        with Wire(broker.bootstrap) as wire:
            assert _leaders(wire, "steady", "fresh") == {
                "steady": (UNKNOWN_TOPIC_OR_PARTITION, -1),
                "fresh": (0, 0),
            }
    finally:
        faultfs.heal()
        broker.kill9()


def test_create_topics_on_a_disk_without_room_is_storage_error_and_creates_nothing(
    faultfs: FaultFs,
) -> None:
    broker = start_broker(faultfs.mountpoint / "data")
    try:
        with Wire(broker.bootstrap) as wire:
            faultfs.fill("data/roomless-")
            s = schema(ApiKey.CREATE_TOPICS, 5)
            topic = make(s.CreatableTopic, name="roomless", num_partitions=2,
                         replication_factor=1, assignments=(), configs=())  # fmt: skip
            response = wire.request(
                ApiKey.CREATE_TOPICS, 5, topics=(topic,), timeout_ms=10_000, validate_only=False
            )
            answer = response.topics[0]
            assert answer.error_code == KAFKA_STORAGE_ERROR
            assert "could not create the files of roomless-0" in answer.error_message
            assert _leaders(wire, "roomless") == {"roomless": (UNKNOWN_TOPIC_OR_PARTITION, -1)}
            faultfs.heal()
            _create(wire, "roomless")
            assert _produce(wire, ["roomless"]) == {"roomless": (0, 0, None)}
    finally:
        faultfs.heal()
        broker.kill9()


def _ids_until_refused(wire: Wire) -> tuple[list[int], Any]:
    """InitProducerId until one is refused: the ids handed out before it, and its answer."""
    ids: list[int] = []
    while len(ids) <= 3 * BLOCK:
        answer = _init_producer(wire)
        if answer.error_code:
            return ids, answer
        ids.append(answer.producer_id)
    raise AssertionError(f"{len(ids)} producer ids and none refused")


def _next_id(wire: Wire) -> int:
    """The next producer id, once the broker has reserved one (it answers 14 meanwhile)."""
    deadline = time.monotonic() + 10
    while (answer := _init_producer(wire)).error_code == COORDINATOR_LOAD_IN_PROGRESS:
        assert time.monotonic() < deadline, "no producer id reserved after the disk healed"
        time.sleep(0.01)  # the reservation runs in a thread: polled, not waited out
    assert answer.error_code == 0
    return int(answer.producer_id)


def test_init_producer_id_without_room_is_retriable_and_never_reuses_an_id(
    faultfs: FaultFs,
) -> None:
    """Producer ids are handed out only below a mark on disk, reserved a block ahead. With
    no room for the next mark, the current block is handed out, then InitProducerId
    answers COORDINATOR_LOAD_IN_PROGRESS (clients retry it) and nothing is reserved, so no
    id is handed out that a restart could hand out again."""
    broker = start_broker(faultfs.mountpoint / "data")
    try:
        with Wire(broker.bootstrap) as wire:
            faultfs.fill("data/.state/producers/next-producer-id")
            ids, refused = _ids_until_refused(wire)
            assert ids == list(range(BLOCK))  # the block reserved at start
            assert refused.error_code == COORDINATOR_LOAD_IN_PROGRESS
            assert _init_transactional(wire, "ledger")[0] == COORDINATOR_LOAD_IN_PROGRESS
            faultfs.heal()
            first = _next_id(wire)
            assert first == BLOCK
        log = broker.log()
        assert log.count("could not reserve producer ids: [Errno 28]") == 1
        assert "producer ids are reserved again" in log
        broker.kill9()
        broker.start()
        with Wire(broker.bootstrap) as wire:
            assert _next_id(wire) > first  # the block before the kill is skipped
    finally:
        faultfs.heal()
        broker.kill9()


def test_a_stalled_disk_never_stops_the_broker_for_producer_ids(faultfs: FaultFs) -> None:
    """The next block's mark is written in a thread: while its fsync hangs, the current
    block is handed out, then InitProducerId answers COORDINATOR_LOAD_IN_PROGRESS, and
    other requests are served throughout (before, the mark was fsynced on the event loop,
    and every client waited for the disk)."""
    broker = start_broker(faultfs.mountpoint / "data")
    try:
        with Wire(broker.bootstrap) as wire, Wire(broker.bootstrap) as other:
            _create(other, "steady")
            faultfs.hold_fsync("data/.state/producers/")
            ids, refused = _ids_until_refused(wire)
            assert ids == list(range(BLOCK))
            assert refused.error_code == COORDINATOR_LOAD_IN_PROGRESS
            assert _leaders(other, "steady") == {"steady": (0, 0)}
            faultfs.heal()
            assert _next_id(wire) == BLOCK
    finally:
        faultfs.heal()
        broker.kill9()


def test_a_dynamic_broker_config_without_room_changes_nothing(faultfs: FaultFs) -> None:
    broker = start_broker(faultfs.mountpoint / "data")
    try:
        entry = ConfigEntry("log.retention.ms", "1000", incremental_operation=AlterConfigOpType.SET)
        resource = ConfigResource(ResourceType.BROKER, "0", incremental_configs=[entry])
        admin = AdminClient({"bootstrap.servers": broker.bootstrap, "log_level": 3})
        faultfs.fill("data/.state/broker/")
        with pytest.raises(KafkaException) as caught:
            admin.incremental_alter_configs([resource])[resource].result(TIMEOUT_S)
        error = caught.value.args[0]
        assert error.code() == KafkaError.KAFKA_STORAGE_ERROR
        assert "could not write the broker configs" in error.str()
        described = ConfigResource(ResourceType.BROKER, "0")
        entries = admin.describe_configs([described])[described].result(TIMEOUT_S)
        assert entries["log.retention.ms"].value != "1000"
    finally:
        faultfs.heal()
        broker.kill9()


def test_a_stalled_broker_config_write_holds_only_that_change(faultfs: FaultFs) -> None:
    """Dynamic broker configs are written in a thread: while the write's fsync hangs, the
    change waits and is not in force, and every other client is served (before, the file
    was fsynced on the event loop, and every client waited for the disk)."""
    broker = start_broker(faultfs.mountpoint / "data")
    try:
        entry = ConfigEntry("log.retention.ms", "1000", incremental_operation=AlterConfigOpType.SET)
        resource = ConfigResource(ResourceType.BROKER, "0", incremental_configs=[entry])
        described = ConfigResource(ResourceType.BROKER, "0")
        admin = AdminClient({"bootstrap.servers": broker.bootstrap, "log_level": 3})
        # Another client: one connection's answers come in request order, as from Kafka.
        reader = AdminClient({"bootstrap.servers": broker.bootstrap, "log_level": 3})
        with Wire(broker.bootstrap) as other:
            _create(other, "steady")
            faultfs.hold_fsync("data/.state/broker/")
            altering = admin.incremental_alter_configs([resource])[resource]
            entries = reader.describe_configs([described])[described].result(TIMEOUT_S)
            assert entries["log.retention.ms"].value != "1000"  # not in force yet
            assert _produce(other, ["steady"]) == {"steady": (0, 0, None)}
            assert not altering.done()
            faultfs.heal()
            altering.result(TIMEOUT_S)
        entries = admin.describe_configs([described])[described].result(TIMEOUT_S)
        assert entries["log.retention.ms"].value == "1000"
    finally:
        faultfs.heal()
        broker.kill9()
