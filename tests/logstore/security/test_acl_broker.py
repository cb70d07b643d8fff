"""ACLs on a real broker process, driven by real clients (confluent-kafka's AdminClient,
Producer, Consumer): administered over the wire, enforced per request, kept on restart.

Over PLAINTEXT every client is User:ANONYMOUS, so the scenarios grant or refuse that
principal.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    Producer,
)
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ConfigResource,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from tests.broker_fixture import BrokerProcess, start_broker
from tests.differential.test_named_twice import _call, _m

ME = "User:ANONYMOUS"
STANDARD = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


def _config(path: Path, allow_if_no_acl: bool) -> Path:
    path.write_text(
        f"authorizer.class.name={STANDARD}\n"
        f"allow.everyone.if.no.acl.found={str(allow_if_no_acl).lower()}\n"
    )
    return path


def _admin(broker: BrokerProcess) -> AdminClient:
    return AdminClient({"bootstrap.servers": broker.bootstrap})


def _grant(
    rtype: ResourceType,
    name: str,
    op: AclOperation,
    perm: AclPermissionType = AclPermissionType.ALLOW,
    pattern: ResourcePatternType = ResourcePatternType.LITERAL,
) -> AclBinding:
    return AclBinding(rtype, name, pattern, ME, "*", op, perm)


def _produce_error(broker: BrokerProcess, topic: str) -> int:
    """The delivery error code of one record (0 = delivered)."""
    errors: list[KafkaError | None] = []
    producer = Producer(
        {"bootstrap.servers": broker.bootstrap, "message.timeout.ms": 5000, "retries": 0}
    )
    producer.produce(topic, b"v", on_delivery=lambda err, _msg: errors.append(err))
    producer.flush(10)
    assert len(errors) == 1
    return 0 if errors[0] is None else errors[0].code()


@pytest.fixture
def secured(tmp_path: Path) -> BrokerProcess:
    """A broker with ACLs on: cluster ALTER, DESCRIBE and CREATE, `team-` topics
    (prefixed) and group `team-g` granted to ANONYMOUS, writing to `team-locked` denied;
    then restarted with allow.everyone.if.no.acl.found=false so only those grants count."""
    config = _config(tmp_path / "server.properties", allow_if_no_acl=True)
    broker = start_broker(tmp_path / "data", ["--config", str(config), "--no-auto-create-topics"])
    admin = _admin(broker)
    for future in admin.create_topics(
        [NewTopic(t, 1, 1) for t in ("team-a", "team-locked", "other")]
    ).values():
        future.result(10)
    bindings = [
        # Not ALL: DELETE on the cluster would let it delete every topic, as in Kafka.
        *(
            _grant(ResourceType.BROKER, "kafka-cluster", op)
            for op in (AclOperation.ALTER, AclOperation.DESCRIBE, AclOperation.CREATE)
        ),
        _grant(ResourceType.TOPIC, "team-", AclOperation.ALL, pattern=ResourcePatternType.PREFIXED),
        _grant(ResourceType.TOPIC, "team-locked", AclOperation.WRITE, AclPermissionType.DENY),
        _grant(ResourceType.GROUP, "team-g", AclOperation.READ),
    ]
    for future in admin.create_acls(bindings).values():
        future.result(10)
    _config(tmp_path / "server.properties", allow_if_no_acl=False)
    broker.restart()
    yield broker
    broker.stop()


def test_acls_are_listed_after_a_restart(secured: BrokerProcess) -> None:
    admin = _admin(secured)
    listed = admin.describe_acls(_any_acl(ResourceType.ANY, None, ResourcePatternType.ANY)).result(
        10
    )
    assert {(b.restype, b.name, b.resource_pattern_type, b.operation) for b in listed} == {
        *(
            (ResourceType.BROKER, "kafka-cluster", ResourcePatternType.LITERAL, op)
            for op in (AclOperation.ALTER, AclOperation.DESCRIBE, AclOperation.CREATE)
        ),
        (ResourceType.TOPIC, "team-", ResourcePatternType.PREFIXED, AclOperation.ALL),
        (ResourceType.TOPIC, "team-locked", ResourcePatternType.LITERAL, AclOperation.WRITE),
        (ResourceType.GROUP, "team-g", ResourcePatternType.LITERAL, AclOperation.READ),
    }


def test_produce_allowed_by_prefix_refused_elsewhere_and_by_deny(secured: BrokerProcess) -> None:
    assert _produce_error(secured, "team-a") == 0
    assert _produce_error(secured, "other") == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert _produce_error(secured, "team-locked") == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_metadata_lists_only_describable_topics(secured: BrokerProcess) -> None:
    topics = _admin(secured).list_topics(timeout=10).topics
    # team-locked stays visible: WRITE is denied, DESCRIBE comes from the prefixed ALL.
    assert set(topics) == {"team-a", "team-locked"}
    one = _admin(secured).list_topics("other", timeout=10).topics["other"]
    assert one.error is not None
    assert one.error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_consume_reads_granted_topic_and_is_refused_on_another(secured: BrokerProcess) -> None:
    assert _produce_error(secured, "team-a") == 0
    consumer = Consumer(
        {
            "bootstrap.servers": secured.bootstrap,
            "group.id": "team-g",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.subscribe(["team-a"])
        message = None
        for _ in range(40):
            message = consumer.poll(0.5)
            if message is not None:
                break
        assert message is not None
        assert (message.error(), message.value()) == (None, b"v")
    finally:
        consumer.close()


def _any_acl(
    rtype: ResourceType, name: str | None, pattern: ResourcePatternType
) -> AclBindingFilter:
    return AclBindingFilter(
        rtype, name, pattern, None, None, AclOperation.ANY, AclPermissionType.ANY
    )


def test_delete_acls_removes_the_grant_and_its_effect(secured: BrokerProcess) -> None:
    admin = _admin(secured)
    # confluent-kafka resolves the futures through the dict it returned: keep it whole.
    futures = admin.delete_acls(
        [_any_acl(ResourceType.TOPIC, "team-", ResourcePatternType.PREFIXED)]
    )
    [deleted] = [future.result(10) for future in futures.values()]
    assert [(b.name, b.operation) for b in deleted] == [("team-", AclOperation.ALL)]
    assert _produce_error(secured, "team-a") == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_acl_apis_without_an_authorizer_say_security_disabled(broker: BrokerProcess) -> None:
    admin = _admin(broker)
    futures = admin.create_acls([_grant(ResourceType.TOPIC, "t", AclOperation.READ)])
    with pytest.raises(KafkaException) as refused:
        next(iter(futures.values())).result(10)
    assert refused.value.args[0].code() == KafkaError.SECURITY_DISABLED


def _outcome(future: Any) -> int:
    try:
        future.result(10)
    except KafkaException as exc:
        return int(exc.args[0].code())
    return 0


def test_admin_requests_are_checked_per_resource(secured: BrokerProcess) -> None:
    admin = _admin(secured)
    refused_topic = KafkaError.TOPIC_AUTHORIZATION_FAILED
    # CREATE on the cluster covers every new topic; deleting needs DELETE on the topic.
    created = admin.create_topics([NewTopic("fresh", 1, 1)])
    assert _outcome(created["fresh"]) == 0
    deleted = admin.delete_topics(["other", "team-locked"])
    assert _outcome(deleted["other"]) == refused_topic
    assert _outcome(deleted["team-locked"]) == 0
    configs = admin.describe_configs([ConfigResource("topic", "other")])
    assert _outcome(next(iter(configs.values()))) == refused_topic
    granted = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions("team-g")])
    assert _outcome(next(iter(granted.values()))) == 0
    other = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions("other-g")])
    assert _outcome(next(iter(other.values()))) == KafkaError.GROUP_AUTHORIZATION_FAILED


def test_a_consumer_in_a_group_it_may_not_read_is_refused(secured: BrokerProcess) -> None:
    consumer = Consumer(
        {
            "bootstrap.servers": secured.bootstrap,
            "group.id": "other-g",
            "auto.offset.reset": "earliest",
        }
    )
    try:
        consumer.subscribe(["team-a"])
        errors: list[int] = []
        for _ in range(40):
            message = consumer.poll(0.5)
            if message is not None and message.error() is not None:
                errors.append(message.error().code())
                break
        assert errors == [KafkaError.GROUP_AUTHORIZATION_FAILED]
    finally:
        consumer.close()


def test_broker_loggers_need_the_cluster_config_rights(secured: BrokerProcess) -> None:
    """The principal holds cluster ALTER and DESCRIBE, not DESCRIBE_CONFIGS or
    ALTER_CONFIGS: reading and changing log levels are refused, as in Kafka."""
    cluster = SimpleNamespace(bootstrap=secured.bootstrap)
    d = _m(32, 4)
    described = _call(
        cluster, 32, 4, "DescribeConfigsRequest",
        resources=(d.DescribeConfigsResource(
            resource_type=8, resource_name="0", configuration_keys=None),),
        include_synonyms=False, include_documentation=False,
    )  # fmt: skip
    assert [(int(r.error_code), r.configs) for r in described.results] == [
        (KafkaError.CLUSTER_AUTHORIZATION_FAILED, ())
    ]
    i = _m(44, 1)
    altered = _call(
        cluster, 44, 1, "IncrementalAlterConfigsRequest",
        resources=(i.AlterConfigsResource(resource_type=8, resource_name="0", configs=(
            i.AlterableConfig(name="root", config_operation=0, value="DEBUG"),)),),
        validate_only=False,
    )  # fmt: skip
    assert [int(r.error_code) for r in altered.responses] == [
        KafkaError.CLUSTER_AUTHORIZATION_FAILED
    ]
    assert "DEBUG logstore" not in secured.log()
