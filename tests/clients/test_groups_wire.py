"""Group APIs on the wire, version by version, against a real broker process.

What real clients rarely show: FindCoordinator v4 batched keys (and the transaction key we
do not serve), JoinGroup v0 (no MEMBER_ID_REQUIRED) next to v4+, admin commits and
OffsetFetch v1 / v8 (multi-group), OffsetDelete, ListGroups v5 type filter, DeleteGroups
errors, Heartbeat from a stranger.
"""

from __future__ import annotations

import sys
import uuid
from typing import Any

from confluent_kafka.admin import AdminClient, NewTopic

from logstore.broker.build import make
from logstore.protocol import codec
from logstore.protocol.api_keys import ApiKey
from tests.clients.test_idempotence_wire import WireClient

NOT_AVAILABLE = 15
UNKNOWN_MEMBER_ID = 25
MEMBER_ID_REQUIRED = 79
NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69


def request(api_key: int, version: int, **fields: Any) -> Any:
    cls = codec.request_class(api_key, version)
    assert cls is not None
    return make(cls, **fields)


def nested(api_key: int, version: int, entity: str, **fields: Any) -> Any:
    cls = codec.request_class(api_key, version)
    return make(getattr(sys.modules[cls.__module__], entity), **fields)


def join(client: WireClient, version: int, group: str, member_id: str = "") -> Any:
    protocol = nested(
        ApiKey.JOIN_GROUP, version, "JoinGroupRequestProtocol", name="range", metadata=b""
    )
    return client.call(
        ApiKey.JOIN_GROUP,
        version,
        request(
            ApiKey.JOIN_GROUP,
            version,
            group_id=group,
            session_timeout=10_000,
            rebalance_timeout=10_000,
            member_id=member_id,
            group_instance_id=None,
            protocol_type="consumer",
            protocols=(protocol,),
            reason=None,
        ),
    )


def test_find_coordinator_single_and_batched(shared_broker) -> None:
    broker = shared_broker
    client = WireClient(broker.port)
    single = client.call(ApiKey.FIND_COORDINATOR, 0, request(ApiKey.FIND_COORDINATOR, 0, key="g"))
    assert (single.error_code, single.node_id, single.port) == (0, 0, broker.port)
    batched = client.call(
        ApiKey.FIND_COORDINATOR,
        4,
        request(ApiKey.FIND_COORDINATOR, 4, key_type=0, coordinator_keys=("a", "b")),
    )
    assert [(c.key, c.error_code, c.port) for c in batched.coordinators] == [
        ("a", 0, broker.port),
        ("b", 0, broker.port),
    ]
    txn = client.call(
        ApiKey.FIND_COORDINATOR,
        4,
        request(ApiKey.FIND_COORDINATOR, 4, key_type=1, coordinator_keys=("t",)),
    )
    # The transaction coordinator is this broker too.
    assert [(c.key, c.error_code, c.port) for c in txn.coordinators] == [("t", 0, broker.port)]
    client.close()


def test_join_versions_offsets_and_admin_errors(shared_broker) -> None:
    broker = shared_broker
    run = uuid.uuid4().hex[:8]
    topic = f"grp-wire-{run}"
    g_v0, g_v5, g_admin = f"g-v0-{run}", f"g-v5-{run}", f"g-admin-{run}"
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(10)
    client = WireClient(broker.port)

    old = join(client, 0, g_v0)
    assert old.error_code == 0
    assert old.member_id
    assert old.generation_id == 1
    first = join(client, 5, g_v5)
    assert first.error_code == MEMBER_ID_REQUIRED
    second = join(client, 5, g_v5, first.member_id)
    assert (second.error_code, second.leader) == (0, first.member_id)
    beat = client.call(
        ApiKey.HEARTBEAT,
        0,
        request(ApiKey.HEARTBEAT, 0, group_id=g_v5, generation_id=1, member_id="stranger"),
    )
    assert beat.error_code == UNKNOWN_MEMBER_ID

    partition = nested(
        ApiKey.OFFSET_COMMIT,
        2,
        "OffsetCommitRequestPartition",
        partition_index=1,
        committed_offset=42,
        committed_metadata="hello",
    )
    commit = client.call(
        ApiKey.OFFSET_COMMIT,
        2,
        request(
            ApiKey.OFFSET_COMMIT,
            2,
            group_id=g_admin,
            generation_id_or_member_epoch=-1,
            member_id="",
            retention_time=-1,
            topics=(
                nested(
                    ApiKey.OFFSET_COMMIT,
                    2,
                    "OffsetCommitRequestTopic",
                    name=topic,
                    partitions=(partition,),
                ),
            ),
        ),
    )
    assert commit.topics[0].partitions[0].error_code == 0

    v1 = client.call(
        ApiKey.OFFSET_FETCH,
        1,
        request(
            ApiKey.OFFSET_FETCH,
            1,
            group_id=g_admin,
            topics=(
                nested(
                    ApiKey.OFFSET_FETCH,
                    1,
                    "OffsetFetchRequestTopic",
                    name=topic,
                    partition_indexes=(0, 1),
                ),
            ),
        ),
    )
    assert [
        (p.partition_index, p.committed_offset, p.metadata) for p in v1.topics[0].partitions
    ] == [
        (0, -1, ""),
        (1, 42, "hello"),
    ]
    v8 = client.call(
        ApiKey.OFFSET_FETCH,
        8,
        request(
            ApiKey.OFFSET_FETCH,
            8,
            require_stable=False,
            groups=(
                nested(
                    ApiKey.OFFSET_FETCH,
                    8,
                    "OffsetFetchRequestGroup",
                    group_id=g_admin,
                    topics=None,
                ),
                nested(
                    ApiKey.OFFSET_FETCH,
                    8,
                    "OffsetFetchRequestGroup",
                    group_id="nobody",
                    topics=None,
                ),
            ),
        ),
    )
    assert [
        (g.group_id, [(t.name, [p.committed_offset for p in t.partitions]) for t in g.topics])
        for g in v8.groups
    ] == [
        (g_admin, [(topic, [42])]),
        ("nobody", []),
    ]

    listed = client.call(
        ApiKey.LIST_GROUPS,
        5,
        request(ApiKey.LIST_GROUPS, 5, states_filter=(), types_filter=("classic",)),
    )
    assert {g_v0, g_v5, g_admin} <= {g.group_id for g in listed.groups}
    assert {g.group_type for g in listed.groups} == {"classic"}
    none = client.call(
        ApiKey.LIST_GROUPS,
        5,
        request(ApiKey.LIST_GROUPS, 5, states_filter=(), types_filter=("consumer",)),
    )
    assert g_admin not in {g.group_id for g in none.groups}

    deleted = client.call(
        ApiKey.OFFSET_DELETE,
        0,
        request(
            ApiKey.OFFSET_DELETE,
            0,
            group_id=g_admin,
            topics=(
                nested(
                    ApiKey.OFFSET_DELETE,
                    0,
                    "OffsetDeleteRequestTopic",
                    name=topic,
                    partitions=(
                        nested(
                            ApiKey.OFFSET_DELETE,
                            0,
                            "OffsetDeleteRequestPartition",
                            partition_index=1,
                        ),
                    ),
                ),
            ),
        ),
    )
    assert (deleted.error_code, deleted.topics[0].partitions[0].error_code) == (0, 0)

    results = client.call(
        ApiKey.DELETE_GROUPS,
        2,
        request(ApiKey.DELETE_GROUPS, 2, groups_names=(g_v5, "never-seen", g_v0)),
    )
    assert [(r.group_id, r.error_code) for r in results.results] == [
        (g_v5, NON_EMPTY_GROUP),
        ("never-seen", GROUP_ID_NOT_FOUND),
        (g_v0, NON_EMPTY_GROUP),
    ]
    client.close()
