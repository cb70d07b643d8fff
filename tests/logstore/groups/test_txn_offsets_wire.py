"""TxnOffsetCommit and OffsetFetch `require_stable` on the wire, against a real broker
process: the error codes per partition and version, pending offsets invisible until their
transaction ends, and pending offsets that survive a `kill -9`."""

from __future__ import annotations

import uuid
from typing import Any

from confluent_kafka.admin import AdminClient, NewTopic

from logstore.protocol.api_keys import ApiKey
from tests.clients.test_groups_wire import join, nested, request
from tests.clients.test_idempotence_wire import WireClient
from tests.clients.txn_wire import TxnWire, txn_offset_commit
from tests.clients.txn_wire import offset_fetch as fetch

UNKNOWN_TOPIC_OR_PARTITION = 3
OFFSET_METADATA_TOO_LARGE = 12
ILLEGAL_GENERATION = 22
INVALID_GROUP_ID = 24
UNKNOWN_MEMBER_ID = 25
INVALID_PRODUCER_EPOCH = 47
UNSTABLE_OFFSET_COMMIT = 88
MEMBER_ID_REQUIRED = 79


def plain_commit(client: WireClient, group: str, topic: str, partition: int, offset: int) -> None:
    part = nested(
        ApiKey.OFFSET_COMMIT,
        2,
        "OffsetCommitRequestPartition",
        partition_index=partition,
        committed_offset=offset,
        committed_metadata="",
    )
    response = client.call(
        ApiKey.OFFSET_COMMIT,
        2,
        request(
            ApiKey.OFFSET_COMMIT,
            2,
            group_id=group,
            generation_id_or_member_epoch=-1,
            member_id="",
            retention_time=-1,
            topics=(
                nested(
                    ApiKey.OFFSET_COMMIT,
                    2,
                    "OffsetCommitRequestTopic",
                    name=topic,
                    partitions=(part,),
                ),
            ),
        ),
    )
    assert response.topics[0].partitions[0].error_code == 0


def in_transaction(bootstrap: str, group: str, *, epochs: int = 1) -> dict[str, Any]:
    """A producer whose open transaction holds `group`'s offsets (AddOffsetsToTxn), as
    TxnOffsetCommit's fields; `epochs` InitProducerIds give it epoch `epochs - 1`."""
    wire = TxnWire(bootstrap, f"tx-{uuid.uuid4().hex[:8]}")
    for _ in range(epochs):
        assert wire.init() == 0
    assert wire.add_offsets(group) == 0
    wire.close()
    return {
        "transactional_id": wire.transactional_id,
        "producer_id": wire.producer_id,
        "epoch": wire.epoch,
    }


def new_topic(bootstrap: str) -> str:
    topic = f"txo-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(10)
    return topic


def test_txn_offset_commit_errors_per_partition_and_version(shared_broker) -> None:
    client = WireClient(shared_broker.port)
    topic = new_topic(shared_broker.bootstrap)
    run = uuid.uuid4().hex[:8]
    for version in range(5):
        group = f"g-{run}-v{version}"
        producer = in_transaction(shared_broker.bootstrap, group)
        assert txn_offset_commit(
            client,
            version,
            group,
            {topic: [(0, 5), (7, 5)], "no-such-topic": [(0, 1)]},
            **producer,
        ) == [  # Kafka's order: what is refused before the coordinator comes first
            (topic, 7, UNKNOWN_TOPIC_OR_PARTITION),
            (topic, 0, 0),
            ("no-such-topic", 0, UNKNOWN_TOPIC_OR_PARTITION),
        ]
        # The group check comes after the partitions' own: unknown ones keep their error.
        assert txn_offset_commit(
            client, version, "", {topic: [(1, 5)], "no-such-topic": [(0, 1)]}
        ) == [
            ("no-such-topic", 0, UNKNOWN_TOPIC_OR_PARTITION),
            (topic, 1, INVALID_GROUP_ID),
        ]
        assert txn_offset_commit(
            client,
            version,
            group,
            {topic: [(1, 5)]},
            metadata="x" * 5000,
            **producer,
        ) == [(topic, 1, OFFSET_METADATA_TOO_LARGE)]

    # v3 carries the member: a generation of a group that does not exist, a stranger.
    none = f"none-{run}"
    producer = in_transaction(shared_broker.bootstrap, none)
    assert txn_offset_commit(client, 3, none, {topic: [(0, 1)]}, generation_id=1, **producer) == [
        (topic, 0, ILLEGAL_GENERATION)
    ]
    group = f"members-{run}"
    producer = in_transaction(shared_broker.bootstrap, group)
    first = join(client, 5, group)
    assert first.error_code == MEMBER_ID_REQUIRED
    joined = join(client, 5, group, first.member_id)
    assert joined.error_code == 0
    member, generation = joined.member_id, joined.generation_id
    assert txn_offset_commit(
        client,
        3,
        group,
        {topic: [(0, 1)]},
        generation_id=generation,
        member_id="stranger",
        **producer,
    ) == [(topic, 0, UNKNOWN_MEMBER_ID)]
    assert txn_offset_commit(
        client,
        3,
        group,
        {topic: [(0, 1)]},
        generation_id=generation + 1,
        member_id=member,
        **producer,
    ) == [(topic, 0, ILLEGAL_GENERATION)]
    assert txn_offset_commit(
        client, 3, group, {topic: [(0, 1)]}, generation_id=generation, member_id=member, **producer
    ) == [(topic, 0, 0)]
    # v2 names no member: accepted while the group has members.
    assert txn_offset_commit(client, 2, group, {topic: [(1, 1)]}, **producer) == [(topic, 1, 0)]

    # A fenced producer (an older epoch than the coordinator's) is refused, as
    # INVALID_PRODUCER_EPOCH at every version.
    fenced = f"fenced-{run}"
    producer = in_transaction(shared_broker.bootstrap, fenced, epochs=2)
    assert txn_offset_commit(client, 0, fenced, {topic: [(0, 1)]}, **producer) == [(topic, 0, 0)]
    producer["epoch"] -= 1
    assert txn_offset_commit(client, 0, fenced, {topic: [(0, 2)]}, **producer) == [
        (topic, 0, INVALID_PRODUCER_EPOCH)
    ]
    client.close()


def test_require_stable_answers_unstable_while_a_transaction_holds_the_offset(
    shared_broker,
) -> None:
    client = WireClient(shared_broker.port)
    topic = new_topic(shared_broker.bootstrap)
    group = f"stable-{uuid.uuid4().hex[:8]}"
    plain_commit(client, group, topic, 0, 5)
    plain_commit(client, group, topic, 1, 6)
    producer = in_transaction(shared_broker.bootstrap, group)
    assert txn_offset_commit(client, 1, group, {topic: [(0, 50)]}, **producer) == [(topic, 0, 0)]

    for version in (7, 8, 9):
        assert fetch(client, version, group, topic, stable=True) == [
            (topic, 0, -1, UNSTABLE_OFFSET_COMMIT),
            (topic, 1, 6, 0),
        ]
        assert fetch(client, version, group, None, stable=True) == [
            (topic, 0, -1, UNSTABLE_OFFSET_COMMIT),
            (topic, 1, 6, 0),
        ]
    # A group of commits only is Kafka's "simple" group: Empty, no protocol type.
    pending_only = f"pending-only-{uuid.uuid4().hex[:8]}"
    other = in_transaction(shared_broker.bootstrap, pending_only)
    assert txn_offset_commit(client, 1, pending_only, {topic: [(1, 1)]}, **other) == [(topic, 1, 0)]
    for listed in (group, pending_only):
        req = request(
            ApiKey.DESCRIBE_GROUPS, 5, groups=(listed,), include_authorized_operations=False
        )
        (found,) = client.call(ApiKey.DESCRIBE_GROUPS, 5, req).groups
        assert (found.error_code, found.group_state, found.protocol_type) == (0, "Empty", "")
    req = request(ApiKey.LIST_GROUPS, 5, states_filter=(), types_filter=())
    listed_groups = client.call(ApiKey.LIST_GROUPS, 5, req).groups
    assert sorted(
        (g.group_id, g.protocol_type, g.group_state)
        for g in listed_groups
        if g.group_id in (group, pending_only)
    ) == sorted([(group, "", "Empty"), (pending_only, "", "Empty")])
    # Without require_stable (and before v7, which cannot ask) the last committed offset.
    for version in (1, 6, 7, 8):
        assert fetch(client, version, group, topic, stable=False) == [
            (topic, 0, 5, 0),
            (topic, 1, 6, 0),
        ]
    client.close()


def test_pending_offsets_survive_kill_9(broker) -> None:
    client = WireClient(broker.port)
    topic = new_topic(broker.bootstrap)
    plain_commit(client, "g", topic, 0, 5)
    producer = in_transaction(broker.bootstrap, "g", epochs=2)
    assert txn_offset_commit(client, 3, "g", {topic: [(0, 50), (1, 60)]}, **producer) == [
        (topic, 0, 0),
        (topic, 1, 0),
    ]
    client.close()
    broker.kill9()
    broker.restart()
    client = WireClient(broker.port)
    assert fetch(client, 8, "g", topic, stable=True) == [
        (topic, 0, -1, UNSTABLE_OFFSET_COMMIT),
        (topic, 1, -1, UNSTABLE_OFFSET_COMMIT),
    ]
    assert fetch(client, 8, "g", topic, stable=False) == [(topic, 0, 5, 0), (topic, 1, -1, 0)]
    # The producer's epoch came back with its transaction: an older one is still fenced.
    producer["epoch"] -= 1
    assert txn_offset_commit(client, 3, "g", {topic: [(0, 1)]}, **producer) == [
        (topic, 0, INVALID_PRODUCER_EPOCH)
    ]
    client.close()
