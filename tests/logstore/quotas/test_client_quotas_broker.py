"""Client quotas on a real broker process: AlterClientQuotas stores what it accepts (and
nothing of a request it refuses), DescribeClientQuotas finds it, a `kill -9` keeps it, and
a client over producer_byte_rate or consumer_byte_rate is throttled as Kafka throttles it:
the wait in the answer, an empty fetch answer, and its connection read no further until the
wait is over. Kafka's exact answers are compared in tests/differential/test_client_quotas.py.
"""

from __future__ import annotations

import contextlib
import time
import uuid
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

from logstore.error_codes import CLUSTER_AUTHORIZATION_FAILED, INVALID_REQUEST
from logstore.protocol.api_keys import ApiKey
from tests.broker_fixture import BrokerProcess, start_broker
from tests.differential.wire import record_batch
from tests.logstore.broker.fetch_wire import fetch
from tests.logstore.broker.wire import Wire, schema

ALTER, DESCRIBE = ApiKey.ALTER_CLIENT_QUOTAS, ApiKey.DESCRIBE_CLIENT_QUOTAS


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    process = start_broker(tmp_path_factory.mktemp("quotas") / "data")
    try:
        yield process
    finally:
        process.stop()


def _alter(
    wire: Wire,
    entity: list[tuple[str, str | None]],
    ops: dict[str, float | None],
    validate_only: bool = False,
) -> tuple[int, str | None]:
    s = schema(ALTER, 1)
    answer = wire.request(
        ALTER,
        1,
        entries=(
            s.EntryData(
                entity=tuple(s.EntityData(entity_type=k, entity_name=n) for k, n in entity),
                ops=tuple(
                    s.OpData(key=key, value=0.0 if v is None else v, remove=v is None)
                    for key, v in ops.items()
                ),
            ),
        ),
        validate_only=validate_only,
    )
    (entry,) = answer.entries
    return int(entry.error_code), entry.error_message


def _described(wire: Wire, kind: str, name: str) -> dict[Any, dict[str, float]]:
    c = schema(DESCRIBE, 1).ComponentData
    answer = wire.request(
        DESCRIBE, 1, components=(c(entity_type=kind, match_type=0, match=name),), strict=False
    )
    assert answer.error_code == 0, answer.error_message
    return {
        frozenset((e.entity_type, e.entity_name) for e in entry.entity): {
            v.key: v.value for v in entry.values
        }
        for entry in answer.entries
    }


def test_quotas_are_stored_described_and_survive_kill_9(tmp_path: Path) -> None:
    process = start_broker(tmp_path / "data")
    try:
        with Wire(process.bootstrap) as wire:
            assert _alter(wire, [("user", "alice")], {"producer_byte_rate": 1024.0}) == (0, None)
            both = [("user", "alice"), ("client-id", "app")]
            assert _alter(wire, both, {"consumer_byte_rate": 2048.0}) == (0, None)
            # Validate-only and refused alterations leave nothing behind.
            assert _alter(wire, [("user", "bob")], {"producer_byte_rate": 1.0}, True) == (0, None)
            assert _alter(wire, [("user", "carol")], {"producer_byte_rate": 1.5}) == (
                INVALID_REQUEST,
                "producer_byte_rate cannot be a fractional value.",
            )
        process.kill9()
        process.restart()
        with Wire(process.bootstrap) as wire:
            assert _described(wire, "user", "alice") == {
                frozenset({("user", "alice")}): {"producer_byte_rate": 1024.0},
                frozenset(both): {"consumer_byte_rate": 2048.0},
            }
            assert _described(wire, "user", "bob") == {}
            assert _described(wire, "user", "carol") == {}
            # Removing the last key removes the entity.
            assert _alter(wire, both, {"consumer_byte_rate": None}) == (0, None)
            assert set(_described(wire, "user", "alice")) == {frozenset({("user", "alice")})}
    finally:
        process.stop()


@contextlib.contextmanager
def _client_quota(broker: BrokerProcess, client: str, key: str, value: float) -> Iterator[None]:
    """`key` set to `value` for client id `client` while the block runs."""
    with Wire(broker.bootstrap) as admin:
        assert _alter(admin, [("client-id", client)], {key: value})[0] == 0
    try:
        yield
    finally:
        with Wire(broker.bootstrap) as admin:
            _alter(admin, [("client-id", client)], {key: None})


def _waited(answer: Any) -> int:
    """An answer's throttle time in ms (kio gives a timedelta)."""
    return round(answer.throttle_time.total_seconds() * 1000)


def _topic(broker: BrokerProcess) -> str:
    name = f"quota-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(name, 1)])[name].result(timeout=30)
    return name


def _produce(wire: Wire, topic: str, values: list[bytes]) -> Any:
    s = schema(ApiKey.PRODUCE, 9)
    batch = record_batch(values)
    return wire.request(
        ApiKey.PRODUCE,
        9,
        transactional_id=None,
        acks=1,
        timeout=10_000,
        topic_data=(
            s.TopicProduceData(
                name=topic,
                partition_data=(s.PartitionProduceData(index=0, records=batch),),
            ),
        ),
    )


def test_a_producer_over_its_byte_rate_is_told_to_wait_and_muted(broker: BrokerProcess) -> None:
    topic = _topic(broker)
    client = f"hasty-{uuid.uuid4().hex[:8]}"
    with _client_quota(broker, client, "producer_byte_rate", 1024.0):
        with Wire(broker.bootstrap, client_id=client) as wire:
            small = _produce(wire, topic, [b"x" * 500])
            assert _waited(small) == 0  # ~600 bytes over the 10 s window: 60 B/s
            big = _produce(wire, topic, [b"y" * 40_000])
            assert big.responses[0].partition_responses[0].error_code == 0
            # Kafka's wait: (observed rate - quota) / quota * window. About 41 KB over the
            # 10 s window: (4,100 - 1,024) / 1,024 * 10 s, about 30 s.
            assert 29_000 < _waited(big) < 31_000
        with Wire(broker.bootstrap, client_id="someone-else") as other:
            assert _waited(_produce(other, topic, [b"z" * 40_000])) == 0


def test_a_muted_connection_is_not_read_until_its_wait_is_over(broker: BrokerProcess) -> None:
    topic = _topic(broker)
    client = f"muted-{uuid.uuid4().hex[:8]}"
    # 40 KB against 3 KB/s: a wait of about 3 s.
    with _client_quota(broker, client, "producer_byte_rate", 3000.0):
        with Wire(broker.bootstrap, client_id=client) as wire:
            throttle = _waited(_produce(wire, topic, [b"y" * 40_000]))
            assert 2_000 < throttle < 4_000
            asked = time.monotonic()
            wire.request(
                ApiKey.API_VERSIONS, 3, client_software_name="t", client_software_version="1"
            )
            waited_ms = (time.monotonic() - asked) * 1000
        # A lower bound only, and a loose one (the wait began when the broker decided it,
        # before its answer reached us): unmuted, ApiVersions takes milliseconds.
        assert waited_ms >= throttle / 2


def test_a_consumer_over_its_byte_rate_gets_a_capped_then_an_empty_answer(
    broker: BrokerProcess,
) -> None:
    topic = _topic(broker)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    for _ in range(30):
        producer.produce(topic, b"v" * 2000)
        producer.flush(10)
    client = f"greedy-{uuid.uuid4().hex[:8]}"
    with _client_quota(broker, client, "consumer_byte_rate", 1024.0):
        with Wire(broker.bootstrap, client_id=client) as wire:
            first = fetch(wire, topic, 12, 0, 0)
            records = first.responses[0].partitions[0].records
            # Capped at what the quota window holds (1024 B/s x 10 s), one batch over at most.
            assert 0 < len(records) <= 10_240 + 2_200
            assert _waited(first) == 0
            second = fetch(wire, topic, 12, 0, 0)
            assert _waited(second) > 0
            assert second.responses == ()
        with Wire(broker.bootstrap, client_id="someone-else") as other:
            whole = fetch(other, topic, 12, 0, 0).responses[0].partitions[0].records
            assert len(whole) > 50_000


def _metadata(wire: Wire, topic: str, version: int) -> Any:
    s = schema(ApiKey.METADATA, version)
    fields: dict[str, Any] = {"allow_auto_topic_creation": False}
    if version >= 8:
        fields["include_topic_authorized_operations"] = False
    if 8 <= version <= 10:
        fields["include_cluster_authorized_operations"] = False
    topics = (s.MetadataRequestTopic(name=topic, **({"topic_id": None} if version >= 10 else {})),)
    return wire.request(ApiKey.METADATA, version, topics=topics, **fields)


def test_a_client_over_its_request_percentage_is_told_to_wait_and_muted(
    broker: BrokerProcess,
) -> None:
    topic = _topic(broker)
    client = f"busy-{uuid.uuid4().hex[:8]}"
    # A millionth of a percent of one thread (a tenth of a microsecond of handling over
    # the first 10 s measured): any request is over it, and Kafka bounds the request
    # quota's wait by one window (1 s here), so every answer says 1,000 ms.
    with _client_quota(broker, client, "request_percentage", 1e-6):
        with Wire(broker.bootstrap, client_id=client) as wire:
            produced = _produce(wire, topic, [b"p" * 100])
            assert _waited(produced) == 1000
            assert produced.responses[0].partition_responses[0].error_code == 0
            # Muted: the next request is read only once the wait is over.
            asked = time.monotonic()
            fetched = fetch(wire, topic, 12, 0, 0)
            assert (time.monotonic() - asked) * 1000 >= 500
            # A throttled Fetch is answered empty, as for consumer_byte_rate.
            assert _waited(fetched) == 1000
            assert fetched.responses == ()
            for version in (4, 12):  # hand-encoded answers, before and after flexible
                assert _waited(_metadata(wire, topic, version)) == 1000
            versions = wire.request(
                ApiKey.API_VERSIONS, 3, client_software_name="t", client_software_version="1"
            )
            assert _waited(versions) == 1000
        with Wire(broker.bootstrap, client_id="someone-else") as other:
            assert _waited(_produce(other, topic, [b"q" * 100])) == 0
            whole = fetch(other, topic, 12, 0, 0).responses[0].partitions[0].records
            assert whole  # what the throttled client produced was stored
            assert _waited(_metadata(other, topic, 12)) == 0


def test_altering_quotas_needs_alter_configs_on_the_cluster(tmp_path: Path) -> None:
    config = tmp_path / "server.properties"
    config.write_text(
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer\n"
        "allow.everyone.if.no.acl.found=true\n"
    )
    process = start_broker(tmp_path / "data", ["--config", str(config)])
    try:
        # Once the cluster has an ACL, only what it allows is allowed: everything but this.
        bindings = [
            AclBinding(
                ResourceType.BROKER,
                "kafka-cluster",
                ResourcePatternType.LITERAL,
                "User:ANONYMOUS",
                "*",
                operation,
                permission,
            )
            for operation, permission in (
                (AclOperation.ALL, AclPermissionType.ALLOW),
                (AclOperation.ALTER_CONFIGS, AclPermissionType.DENY),
            )
        ]
        admin = AdminClient({"bootstrap.servers": process.bootstrap})
        for future in admin.create_acls(bindings).values():
            future.result(timeout=30)
        with Wire(process.bootstrap) as wire:
            assert _alter(wire, [("user", "mallory")], {"producer_byte_rate": 1e9}) == (
                CLUSTER_AUTHORIZATION_FAILED,
                "Cluster authorization failed.",
            )
            # Describing needs DESCRIBE_CONFIGS, still allowed: nothing was stored.
            assert _described(wire, "user", "mallory") == {}
    finally:
        process.stop()


@pytest.mark.parametrize(
    ("key", "value"), [("producer_byte_rate", 2048.0), ("request_percentage", 1e-6)]
)
def test_librdkafka_reports_the_throttle(broker: BrokerProcess, key: str, value: float) -> None:
    topic = _topic(broker)
    client = f"throttled-{uuid.uuid4().hex[:8]}"
    events: list[Any] = []
    with _client_quota(broker, client, key, value):
        producer = Producer(
            {
                "bootstrap.servers": broker.bootstrap,
                "client.id": client,
                "throttle_cb": events.append,
            }
        )
        for _ in range(10):
            producer.produce(topic, b"t" * 10_000)
        assert producer.flush(30) == 0
        deadline = time.monotonic() + 10
        while not events and time.monotonic() < deadline:
            producer.poll(0.1)
        # librdkafka tells the application which broker throttled it, and for how long.
        assert events, "no throttle event"
        assert events[0].throttle_time > 0
        assert events[0].broker_name.startswith("127.0.0.1:")


def test_throttles_are_counted_on_the_metrics_endpoint(tmp_path: Path) -> None:
    from tests.logstore.test_observability import _free_port, _scrape, _value

    port = _free_port()
    config = tmp_path / "server.properties"
    config.write_text(f"odradek.metrics.listen=127.0.0.1:{port}\n")
    process = start_broker(tmp_path / "data", ["--config", str(config)])
    try:
        topic = _topic(process)
        client = f"counted-{uuid.uuid4().hex[:8]}"
        with (
            _client_quota(process, client, "producer_byte_rate", 1024.0),
            Wire(process.bootstrap, client_id=client) as wire,
        ):
            waited = _waited(_produce(wire, topic, [b"y" * 40_000]))
        assert waited > 0
        # One request over two quotas is throttled, and counted, by the longer wait only
        # (Kafka's sendResponseMaybeThrottleWithControllerQuota). CreateTopics v5 has the
        # permissive mutation quota: the request that overdraws the bucket (a burst of 11
        # seconds' worth) carries the wait. First the mutation wait is the longer (39
        # partitions over at 1 a second against the request quota's 1 s), then the shorter
        # (5 over at 10 a second).
        mutation_wait = 0
        for rate, partitions, wait in ((1.0, 50, None), (10.0, 115, 1000)):
            both = f"both-{uuid.uuid4().hex[:8]}"
            with Wire(process.bootstrap) as admin:
                rates = {"controller_mutation_rate": rate, "request_percentage": 1e-6}
                assert _alter(admin, [("client-id", both)], rates)[0] == 0
            with Wire(process.bootstrap, client_id=both) as wire:
                answer = _create_topics(wire, f"wide-{both}", partitions, version=5)
            if wait is None:
                mutation_wait = _waited(answer)
                assert 38_000 < mutation_wait <= 39_000
            else:
                assert _waited(answer) == wait
        series = _scrape(port)
        assert _value(series, "odradek_quota_throttled_total", quota="producer_byte_rate") == 1
        seconds = _value(series, "odradek_quota_throttle_seconds_total", quota="producer_byte_rate")
        assert seconds == waited / 1000
        mutation = "controller_mutation_rate"
        assert _value(series, "odradek_quota_throttled_total", quota=mutation) == 1
        seconds = _value(series, "odradek_quota_throttle_seconds_total", quota=mutation)
        assert seconds == mutation_wait / 1000
        assert _value(series, "odradek_quota_throttled_total", quota="request_percentage") == 1
        seconds = _value(series, "odradek_quota_throttle_seconds_total", quota="request_percentage")
        assert seconds == 1.0
    finally:
        process.stop()


def _create_topics(wire: Wire, name: str, partitions: int, version: int = 7) -> Any:
    s = schema(ApiKey.CREATE_TOPICS, version)
    topic = s.CreatableTopic(
        name=name, num_partitions=partitions, replication_factor=1, assignments=(), configs=()
    )
    answer = wire.request(
        ApiKey.CREATE_TOPICS, version, topics=(topic,), timeout=30_000, validate_only=False
    )
    assert answer.topics[0].error_code == 0
    return answer
