"""The admin and KIP-848 APIs answer an ACL refusal with Kafka's codes: OffsetDelete,
DescribeLogDirs, DescribeClientQuotas, DescribeProducers, DescribeTransactions, ListTransactions,
ConsumerGroupDescribe and ConsumerGroupHeartbeat, on a real broker with DENY ACLs for the
only principal a PLAINTEXT client has (User:ANONYMOUS)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from logstore.broker.build import make
from logstore.error_codes import (
    CLUSTER_AUTHORIZATION_FAILED,
    GROUP_AUTHORIZATION_FAILED,
    TOPIC_AUTHORIZATION_FAILED,
    TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
)
from logstore.protocol import codec
from logstore.protocol.api_keys import ApiKey
from tests.broker_fixture import BrokerProcess, start_broker
from tests.logstore.broker.wire import Wire, schema

STANDARD = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
ME = "User:ANONYMOUS"


def _deny(rtype: ResourceType, name: str, op: AclOperation) -> AclBinding:
    return AclBinding(rtype, name, ResourcePatternType.LITERAL, ME, "*", op, AclPermissionType.DENY)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    home = tmp_path_factory.mktemp("acl-more")
    config = home / "server.properties"
    config.write_text(f"authorizer.class.name={STANDARD}\nallow.everyone.if.no.acl.found=true\n")
    broker = start_broker(home / "data", ["--config", str(config)])
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        for future in admin.create_topics(
            [NewTopic("open-topic", 1), NewTopic("closed-topic", 1)]
        ).values():
            future.result(timeout=30)
        denials = [
            _deny(ResourceType.GROUP, "closed-group", AclOperation.ALL),
            _deny(ResourceType.TOPIC, "closed-topic", AclOperation.READ),
            _deny(ResourceType.TOPIC, "closed-topic", AclOperation.DESCRIBE),
        ]
        for future in admin.create_acls(denials).values():
            future.result(timeout=30)
        yield broker
    finally:
        broker.stop()


def _request(broker: BrokerProcess, api: int, version: int, **fields: Any) -> Any:
    with Wire(broker.bootstrap) as wire:
        return wire.request(api, version, **fields)


def test_offset_delete_refuses_the_group_then_unreadable_topics(guarded: BrokerProcess) -> None:
    s = schema(ApiKey.OFFSET_DELETE, 0)

    def topics(*names: str) -> tuple[Any, ...]:
        return tuple(
            s.OffsetDeleteRequestTopic(
                name=n, partitions=(s.OffsetDeleteRequestPartition(partition_index=0),)
            )
            for n in names
        )

    refused = _request(
        guarded, ApiKey.OFFSET_DELETE, 0, group_id="closed-group", topics=topics("open-topic")
    )
    assert refused.error_code == GROUP_AUTHORIZATION_FAILED
    assert refused.topics == ()
    # An unknown but allowed group is looked up (not refused): the group check came first.
    unknown = _request(
        guarded, ApiKey.OFFSET_DELETE, 0, group_id="no-such-group", topics=topics("open-topic")
    )
    assert unknown.error_code not in (0, GROUP_AUTHORIZATION_FAILED)


def test_describe_log_dirs_needs_describe_on_the_cluster(tmp_path: Path) -> None:
    config = tmp_path / "server.properties"
    config.write_text(f"authorizer.class.name={STANDARD}\nallow.everyone.if.no.acl.found=false\n")
    broker = start_broker(tmp_path / "data", ["--config", str(config)])
    try:
        v3 = _request(broker, ApiKey.DESCRIBE_LOG_DIRS, 3, topics=None)
        assert (v3.error_code, v3.results) == (CLUSTER_AUTHORIZATION_FAILED, ())
        v1 = _request(broker, ApiKey.DESCRIBE_LOG_DIRS, 1, topics=None)
        assert v1.results == ()
        quotas = _request(broker, ApiKey.DESCRIBE_CLIENT_QUOTAS, 1, components=(), strict=False)
        assert (quotas.error_code, quotas.entries) == (CLUSTER_AUTHORIZATION_FAILED, None)
    finally:
        broker.stop()
    open_broker = start_broker(tmp_path / "data2", [])
    try:
        allowed = _request(open_broker, ApiKey.DESCRIBE_LOG_DIRS, 3, topics=None)
        assert allowed.error_code == 0
        assert len(allowed.results) == 1
    finally:
        open_broker.stop()


def test_describe_producers_refuses_an_unreadable_topic(guarded: BrokerProcess) -> None:
    s = schema(ApiKey.DESCRIBE_PRODUCERS, 0)
    answer = _request(
        guarded,
        ApiKey.DESCRIBE_PRODUCERS,
        0,
        topics=tuple(
            s.TopicRequest(name=n, partition_indexes=(0,)) for n in ("open-topic", "closed-topic")
        ),
    )
    codes = {t.name: [p.error_code for p in t.partitions] for t in answer.topics}
    assert codes == {"open-topic": [0], "closed-topic": [TOPIC_AUTHORIZATION_FAILED]}


def _describe_code(broker: BrokerProcess, tid: str) -> int:
    # kio cannot read the start time of -1 both brokers answer here: read the first
    # state's error code from the bytes (header tags, throttle, array length, then it).
    api = ApiKey.DESCRIBE_TRANSACTIONS
    with Wire(broker.bootstrap) as wire:
        cls = codec.request_class(api, 0)
        assert cls is not None
        header = codec.RequestHeader(api, 0, 1, "wire-test")
        wire.send_raw(codec.encode_request(header, make(cls, transactional_ids=(tid,))))
        body = wire.read_frame()
    (code,) = struct.unpack(">h", body[4 + 1 + 4 + 1 : 4 + 1 + 4 + 1 + 2])
    return int(code)


def test_transactions_listed_and_described_only_where_allowed(guarded: BrokerProcess) -> None:
    for tid in ("closed-txn", "open-txn"):
        producer = Producer({"bootstrap.servers": guarded.bootstrap, "transactional.id": tid})
        producer.init_transactions(30)
    # Denied once both exist: the deny hides what is already there.
    admin = AdminClient({"bootstrap.servers": guarded.bootstrap})
    denial = _deny(ResourceType.TRANSACTIONAL_ID, "closed-txn", AclOperation.DESCRIBE)
    for future in admin.create_acls([denial]).values():
        future.result(timeout=30)
    assert _describe_code(guarded, "closed-txn") == TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    assert _describe_code(guarded, "open-txn") == 0
    listed = _request(
        guarded, ApiKey.LIST_TRANSACTIONS, 0, state_filters=(), producer_id_filters=()
    )
    assert [t.transactional_id for t in listed.transaction_states] == ["open-txn"]


def test_kip848_group_apis_refuse_a_closed_group(guarded: BrokerProcess) -> None:
    described = _request(
        guarded, ApiKey.CONSUMER_GROUP_DESCRIBE, 0, group_ids=("closed-group",),
        include_authorized_operations=False,
    )  # fmt: skip
    assert [g.error_code for g in described.groups] == [GROUP_AUTHORIZATION_FAILED]
    beat = _request(
        guarded,
        ApiKey.CONSUMER_GROUP_HEARTBEAT,
        0,
        group_id="closed-group",
        member_id="m-1",
        member_epoch=0,
        instance_id=None,
        rack_id=None,
        rebalance_timeout=30000,
        subscribed_topic_names=("open-topic",),
        server_assignor=None,
        topic_partitions=(),
    )
    assert beat.error_code == GROUP_AUTHORIZATION_FAILED


def test_consumer_heartbeat_refuses_a_subscription_to_an_undescribable_topic(
    guarded: BrokerProcess,
) -> None:
    def beat(member: str, *topics: str) -> Any:
        return _request(
            guarded,
            ApiKey.CONSUMER_GROUP_HEARTBEAT,
            0,
            group_id="open-group-848",
            member_id=member,
            member_epoch=0,
            instance_id=None,
            rack_id=None,
            rebalance_timeout=30000,
            subscribed_topic_names=topics,
            server_assignor=None,
            topic_partitions=(),
        )

    refused = beat("m-closed", "open-topic", "closed-topic")
    assert (refused.error_code, refused.member_epoch) == (TOPIC_AUTHORIZATION_FAILED, 0)
    joined = beat("m-open", "open-topic")
    assert joined.error_code == 0, joined
    assert joined.member_epoch > 0, joined


def test_offset_delete_refuses_only_the_unreadable_topic(guarded: BrokerProcess) -> None:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": guarded.bootstrap, "group.id": "open-group"})
    consumer.commit(offsets=[TopicPartition("open-topic", 0, 0)], asynchronous=False)
    consumer.close()
    s = schema(ApiKey.OFFSET_DELETE, 0)
    answer = _request(
        guarded,
        ApiKey.OFFSET_DELETE,
        0,
        group_id="open-group",
        topics=tuple(
            s.OffsetDeleteRequestTopic(
                name=n, partitions=(s.OffsetDeleteRequestPartition(partition_index=0),)
            )
            for n in ("open-topic", "closed-topic")
        ),
    )
    assert answer.error_code == 0
    codes = {t.name: [p.error_code for p in t.partitions] for t in answer.topics}
    assert codes == {"open-topic": [0], "closed-topic": [TOPIC_AUTHORIZATION_FAILED]}
