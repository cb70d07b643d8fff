"""Share-group state on a disk that refuses its writes (`tests/faultfs.py`), over the wire
against a real broker process.

Acknowledgements the disk refuses are answered KAFKA_STORAGE_ERROR (56) with the reason,
per partition, on a connection that stays open. They stay in force while the broker runs
and are written with the next write that succeeds; a `kill -9` before that brings the
records back for delivery again. Fetches that only acquire are answered with their
records. Admin changes (start offsets, group configs, deleting the group) are written
before they are in force: a refused one answers 56 and changes nothing, now or after a
restart. Before, each of these closed the client's connection ("unexpected error"), and
the admin changes were in force in memory only, until a restart undid them.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourceType,
)

from logstore.broker.build import make
from logstore.protocol.api_keys import ApiKey
from tests.broker_fixture import BrokerProcess, start_broker
from tests.clients.group_topics import create_topic
from tests.clients.share_groups import configure_group, produce_values
from tests.faultfs import FaultFs
from tests.logstore.broker.share_wire import Member, acquired
from tests.logstore.broker.wire import Wire, schema

KAFKA_STORAGE_ERROR = 56
STATE = "data/.state/__share_group_state/"
NO_ROOM = "No space left on device"
TIMEOUT_S = 30
AUTO_OFFSET_RESET = "share.auto.offset.reset"


def _broker(faultfs: FaultFs) -> BrokerProcess:
    return start_broker(faultfs.mountpoint / "data")


def _topic_with(bootstrap: str, count: int) -> str:
    topic = create_topic(bootstrap, 1)
    produce_values(bootstrap, topic, range(count), 1)
    return topic


def _deliveries(reply: Any) -> list[tuple[int, int]]:
    """(offset, delivery count) of each record a ShareFetch answer acquired."""
    return [(o, count) for first, last, count in acquired(reply) for o in range(first, last + 1)]


def _not_written(code: int, message: str | None, group: str) -> None:
    assert code == KAFKA_STORAGE_ERROR
    assert f"the state of share group {group} could not be written" in (message or "")
    assert NO_ROOM in (message or "")


def _ack_answer(reply: Any) -> tuple[int, str | None]:
    """(error code, message) of partition 0 in a ShareAcknowledge answer."""
    ((part,),) = [t.partitions for t in reply.responses]
    return part.error_code, part.error_message


def _fetch_ack_answer(reply: Any) -> tuple[int, str | None]:
    """(acknowledge error code, message) of partition 0 in a ShareFetch answer."""
    ((part,),) = [t.partitions for t in reply.responses]
    return part.acknowledge_error_code, part.acknowledge_error_message


def _ack_refused(bs: str, wire: Wire, faultfs: FaultFs) -> tuple[str, str, Member]:
    """A member acquires ten records; then the disk fills and their acknowledgement is
    refused. (topic, group, member)."""
    topic = _topic_with(bs, 10)
    group = configure_group(bs)
    member = Member(wire, group, topic)
    assert _deliveries(member.fetch_reply(500)) == [(o, 1) for o in range(10)]
    faultfs.fill(STATE)
    _not_written(*_ack_answer(member.acknowledge(0, 9)), group)
    return topic, group, member


def test_refused_acknowledgements_answer_storage_error_and_stay_in_force(
    faultfs: FaultFs,
) -> None:
    broker = _broker(faultfs)
    try:
        bs = broker.bootstrap
        with Wire(bs) as wire:
            topic, group, member = _ack_refused(bs, wire, faultfs)
            # The same connection goes on: a fetch that only acquires gets its records.
            produce_values(bs, topic, range(10, 20), 1)
            reply = member.fetch_reply(500)
            assert _deliveries(reply) == [(o, 1) for o in range(10, 20)]
            assert reply.responses[0].partitions[0].records
            # Acknowledgements carried by a fetch are refused the same way.
            reply = member.fetch_reply(500, acks=(10, 19))
            _not_written(*_fetch_ack_answer(reply), group)
            assert acquired(reply) == []  # nothing new to acquire
            faultfs.heal()
            # The next write that succeeds carries the refused acknowledgements along.
            produce_values(bs, topic, range(20, 30), 1)
            assert _deliveries(member.fetch_reply(500)) == [(o, 1) for o in range(20, 30)]
        log = broker.log_path.read_text(errors="replace")
        # Logged once until a write succeeds again, however many were refused.
        assert log.count(f"the state of share group {group} could not be written") == 1
        assert f"the state of share group {group} is written again" in log
        assert "unexpected error" not in log
        assert "Traceback" not in log
        broker.kill9()
        broker.start()
        with Wire(broker.bootstrap) as wire:
            again = Member(wire, group, topic)
            # Only what was acquired and never acknowledged comes back, delivered again.
            assert _deliveries(again.fetch_reply(500)) == [(o, 2) for o in range(20, 30)]
    finally:
        faultfs.heal()
        broker.kill9()


def test_a_refused_acknowledgement_is_delivered_again_after_kill_9(faultfs: FaultFs) -> None:
    broker = _broker(faultfs)
    try:
        with Wire(broker.bootstrap) as wire:
            topic, group, _ = _ack_refused(broker.bootstrap, wire, faultfs)
        broker.kill9()
        faultfs.heal()
        broker.start()
        with Wire(broker.bootstrap) as wire:
            again = Member(wire, group, topic)
            assert _deliveries(again.fetch_reply(500)) == [(o, 2) for o in range(10)]
    finally:
        faultfs.heal()
        broker.kill9()


def _alter_offsets(wire: Wire, group: str, topic: str, start: int) -> list[Any]:
    """AlterShareGroupOffsets of partition 0; its partitions' answers."""
    s = schema(ApiKey.ALTER_SHARE_GROUP_OFFSETS, 0)
    reply = wire.request(
        ApiKey.ALTER_SHARE_GROUP_OFFSETS, 0, group_id=group,
        topics=(make(s.AlterShareGroupOffsetsRequestTopic, topic_name=topic, partitions=(
            make(s.AlterShareGroupOffsetsRequestPartition, partition_index=0,
                 start_offset=start),)),),
    )  # fmt: skip
    assert reply.error_code == 0
    return [p for t in reply.responses for p in t.partitions]


def _delete_offsets(wire: Wire, group: str, topic: str) -> Any:
    """DeleteShareGroupOffsets of the topic; its answer."""
    s = schema(ApiKey.DELETE_SHARE_GROUP_OFFSETS, 0)
    reply = wire.request(
        ApiKey.DELETE_SHARE_GROUP_OFFSETS, 0, group_id=group,
        topics=(make(s.DeleteShareGroupOffsetsRequestTopic, topic_name=topic),),
    )  # fmt: skip
    assert reply.error_code == 0
    (answer,) = reply.responses
    return answer


def _start_offset(wire: Wire, group: str, topic: str) -> tuple[int, int]:
    """(group error, start offset of partition 0) from DescribeShareGroupOffsets."""
    s = schema(ApiKey.DESCRIBE_SHARE_GROUP_OFFSETS, 1)
    reply = wire.request(
        ApiKey.DESCRIBE_SHARE_GROUP_OFFSETS, 1,
        groups=(make(s.DescribeShareGroupOffsetsRequestGroup, group_id=group, topics=(
            make(s.DescribeShareGroupOffsetsRequestTopic, topic_name=topic,
                 partitions=(0,)),)),),
    )  # fmt: skip
    (answer,) = reply.groups
    if answer.error_code:
        return answer.error_code, -1
    return 0, answer.topics[0].partitions[0].start_offset


def test_refused_start_offset_changes_change_nothing(faultfs: FaultFs) -> None:
    broker = _broker(faultfs)
    try:
        topic = _topic_with(broker.bootstrap, 10)
        group = f"share-{uuid.uuid4().hex[:10]}"
        with Wire(broker.bootstrap) as wire:
            assert [p.error_code for p in _alter_offsets(wire, group, topic, 3)] == [0]
            faultfs.fill(STATE)
            (part,) = _alter_offsets(wire, group, topic, 7)
            _not_written(part.error_code, part.error_message, group)
            deleted = _delete_offsets(wire, group, topic)
            _not_written(deleted.error_code, deleted.error_message, group)
            assert deleted.topic_id in (None, uuid.UUID(int=0))  # named only where deleted
            assert _start_offset(wire, group, topic) == (0, 3)
        faultfs.heal()
        broker.restart()
        with Wire(broker.bootstrap) as wire:
            assert _start_offset(wire, group, topic) == (0, 3)
            assert [p.error_code for p in _alter_offsets(wire, group, topic, 7)] == [0]
            assert _start_offset(wire, group, topic) == (0, 7)
            assert _delete_offsets(wire, group, topic).error_code == 0
            assert _start_offset(wire, group, topic) == (0, -1)
    finally:
        faultfs.heal()
        broker.kill9()


def _group_config(admin: AdminClient, group: str) -> str:
    resource = ConfigResource(ResourceType.GROUP, group)
    entries = admin.describe_configs([resource])[resource].result(TIMEOUT_S)
    return str(entries[AUTO_OFFSET_RESET].value)


def _set_group_config(admin: AdminClient, group: str, value: str) -> None:
    entry = ConfigEntry(AUTO_OFFSET_RESET, value, incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ResourceType.GROUP, group, incremental_configs=[entry])
    admin.incremental_alter_configs([resource])[resource].result(TIMEOUT_S)


def test_a_refused_group_config_change_changes_nothing(faultfs: FaultFs) -> None:
    broker = _broker(faultfs)
    try:
        group = configure_group(broker.bootstrap)  # share.auto.offset.reset=earliest
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        faultfs.fill(STATE)
        with pytest.raises(KafkaException) as caught:
            _set_group_config(admin, group, "latest")
        error: KafkaError = caught.value.args[0]
        assert error.code() == KafkaError.KAFKA_STORAGE_ERROR
        assert f"the state of share group {group} could not be written" in error.str()
        assert NO_ROOM in error.str()
        assert _group_config(admin, group) == "earliest"
        faultfs.heal()
        broker.restart()
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        assert _group_config(admin, group) == "earliest"
        _set_group_config(admin, group, "latest")
        assert _group_config(admin, group) == "latest"
    finally:
        faultfs.heal()
        broker.kill9()


def _delete_group(wire: Wire, group: str) -> int:
    reply = wire.request(ApiKey.DELETE_GROUPS, 2, groups_names=(group,))
    (result,) = reply.results
    return int(result.error_code)


def test_a_group_deletion_the_disk_refuses_keeps_the_group(faultfs: FaultFs) -> None:
    """The deletion's unlink is made durable by fsyncing the directory; when that fails the
    group stays (KAFKA_STORAGE_ERROR), and deleting again once the disk answers does it."""
    broker = _broker(faultfs)
    try:
        topic = _topic_with(broker.bootstrap, 10)
        group = f"share-{uuid.uuid4().hex[:10]}"
        with Wire(broker.bootstrap) as wire:
            assert [p.error_code for p in _alter_offsets(wire, group, topic, 3)] == [0]
            faultfs.fail_fsync(STATE)
            assert _delete_group(wire, group) == KAFKA_STORAGE_ERROR
            assert _start_offset(wire, group, topic) == (0, 3)
            faultfs.heal()
            assert _delete_group(wire, group) == 0
            # Gone with its state: no start offset (Kafka answers a group without share
            # state so, not as an error).
            assert _start_offset(wire, group, topic) == (0, -1)
        broker.restart()
        with Wire(broker.bootstrap) as wire:
            assert _start_offset(wire, group, topic) == (0, -1)
    finally:
        faultfs.heal()
        broker.kill9()
