"""console.kafka.groups and console.lag.reset_plan against real clusters (Odradek and Kafka):
lag in messages and time, every reset mode checked by consuming from the group afterwards,
refusal while the group is active, deleting offsets and groups."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from console.inputs import InputError
from console.kafka import groups as kg
from console.kafka import records, replicas, resets
from console.kafka.config import MAX_IN_FLIGHT, ClusterConfig
from console.kafka.errors import ClusterError, Refused
from console.lag import measure
from console.lag.reset_plan import ResetSpec, plan_reset
from reference.cluster import KafkaCluster
from tests.clusters import (
    Cluster,
    cluster_or_three_nodes,  # noqa: F401 (this module's `cluster`)
)
from tests.console import coordinators
from tests.console import groups_helpers as h

MINUTE = 60_000


def _now_ms() -> int:
    return int(time.time() * 1000)


def test_lag_of_a_group_consumed_to_a_known_position(cluster: Cluster) -> None:
    topic = h.make_topic(cluster.bootstrap, partitions=3)
    base = _now_ms() - 60 * MINUTE
    for p in range(3):
        h.produce(cluster.bootstrap, topic, p, [base + i * 1000 for i in range(10)])
    group = h.unique("grp-lag")
    h.consume_to(cluster.bootstrap, group, topic, {0: 4, 1: 10})

    lag = measure.group_lag(h.cluster(cluster.bootstrap), group, now_ms=_now_ms())

    rows = {(r.topic, r.partition): r for r in lag.partitions}
    assert set(rows) == {(topic, 0), (topic, 1)}
    assert (rows[topic, 0].committed, rows[topic, 0].end, rows[topic, 0].lag) == (4, 10, 6)
    assert (rows[topic, 1].committed, rows[topic, 1].end, rows[topic, 1].lag) == (10, 10, 0)
    assert lag.total_lag == 6
    assert lag.description.state == "EMPTY"
    assert lag.description.members == ()
    assert group in {g.group_id for g in kg.list_groups(h.cluster(cluster.bootstrap))}


def test_lag_in_time_is_the_age_of_the_first_unconsumed_record(cluster: Cluster) -> None:
    topic = h.make_topic(cluster.bootstrap, partitions=2)
    now = _now_ms()
    # Partition 0: records 50..41 minutes old; the group read 3, so record 3 (47 min) is next.
    h.produce(cluster.bootstrap, topic, 0, [now - (50 - i) * MINUTE for i in range(10)])
    h.produce(cluster.bootstrap, topic, 1, [now - (20 - i) * MINUTE for i in range(5)])
    group = h.unique("grp-time")
    h.consume_to(cluster.bootstrap, group, topic, {0: 3, 1: 5})

    lag = measure.group_lag(h.cluster(cluster.bootstrap), group, now_ms=now)

    rows = {r.partition: r for r in lag.partitions}
    assert rows[0].lag_ms == 47 * MINUTE
    assert rows[1].lag_ms == 0  # caught up: no unread record, no age
    assert lag.max_lag_ms == 47 * MINUTE


@pytest.fixture
def replay_setup(cluster: Cluster) -> tuple[str, str, str, int]:
    """One partition, 20 records one minute apart ending 1 min ago; group read 10."""
    topic = h.make_topic(cluster.bootstrap, partitions=1)
    now = _now_ms()
    h.produce(cluster.bootstrap, topic, 0, [now - (20 - i) * MINUTE for i in range(20)])
    group = h.unique("grp-reset")
    h.consume_to(cluster.bootstrap, group, topic, {0: 10})
    return cluster.bootstrap, topic, group, now


@pytest.mark.parametrize(
    ("mode", "value", "expected_first"),
    [
        ("earliest", "", 0),
        ("latest", "", None),
        ("offset", "5", 5),
        ("offset", "999", None),
        ("timestamp", "STAMP7", 7),
        ("duration", "5 min", 15),
        ("duration", "2h", 0),
        ("shift", "-3", 7),
        ("shift", "+4", 14),
        ("group", "OTHER", 3),
    ],
)
def test_every_reset_mode_moves_the_group_to_the_expected_record(
    replay_setup: tuple[str, str, str, int], mode: str, value: str, expected_first: int | None
) -> None:
    bootstrap, topic, group, now = replay_setup
    c = h.cluster(bootstrap)
    if value == "STAMP7":
        value = str(now - 13 * MINUTE)  # record 7's timestamp, as epoch ms
    if value == "OTHER":
        value = h.unique("grp-source")
        h.consume_to(bootstrap, value, topic, {0: 3})

    plan = plan_reset(c, group, ResetSpec(mode, value), topic=None, partitions=None, now_ms=now)

    [row] = plan.rows
    new = 20 if expected_first is None else expected_first
    assert (row.topic, row.partition, row.current, row.new, row.end) == (topic, 0, 10, new, 20)
    assert row.replayed == max(0, 10 - new)
    assert row.skipped == max(0, new - 10)
    expected_ts = None if expected_first is None else now - (20 - expected_first) * MINUTE
    assert row.new_timestamp == expected_ts

    kg.alter_offsets(c, group, plan.offsets)

    first = h.first_records(bootstrap, group, topic, [0])[0]
    if expected_first is None:
        assert first is None
    else:
        assert first == (expected_first, f"p0-{expected_first}")


def test_reset_of_chosen_partitions_leaves_the_others(cluster: Cluster) -> None:
    topic = h.make_topic(cluster.bootstrap, partitions=3)
    now = _now_ms()
    for p in range(3):
        h.produce(cluster.bootstrap, topic, p, [now - MINUTE] * 6)
    group = h.unique("grp-some")
    h.consume_to(cluster.bootstrap, group, topic, {0: 4, 1: 4, 2: 4})
    c = h.cluster(cluster.bootstrap)

    plan = plan_reset(c, group, ResetSpec("earliest"), topic=topic, partitions=[1], now_ms=now)
    assert [(r.partition, r.current, r.new) for r in plan.rows] == [(1, 4, 0)]
    kg.alter_offsets(c, group, plan.offsets)

    first = h.first_records(cluster.bootstrap, group, topic, [0, 1, 2])
    assert first == {0: (4, "p0-4"), 1: (0, "p1-0"), 2: (4, "p2-4")}


def test_reset_is_refused_while_the_group_has_active_members(cluster: Cluster) -> None:
    topic = h.make_topic(cluster.bootstrap, partitions=1)
    h.produce(cluster.bootstrap, topic, 0, [_now_ms()] * 5)
    group = h.unique("grp-active")
    h.consume_to(cluster.bootstrap, group, topic, {0: 5})
    c = h.cluster(cluster.bootstrap)
    member = h.Member(cluster.bootstrap, group, topic)
    try:
        desc = kg.describe_group(c, group)
        assert desc.is_active
        assert [m.client_id for m in desc.members] == ["test-member"]
        assert desc.members[0].assignment == ((topic, 0),)
        with pytest.raises(Refused, match="1 active member"):
            kg.alter_offsets(c, group, {(topic, 0): 0})
        with pytest.raises(Refused, match="active member"):
            kg.delete_group(c, group)
    finally:
        member.close()
    # Once the member left, the same reset goes through.
    deadline = time.monotonic() + h.TIMEOUT
    while kg.describe_group(c, group).members and time.monotonic() < deadline:
        time.sleep(0.1)  # bounded wait for the broker to see the LeaveGroup
    kg.alter_offsets(c, group, {(topic, 0): 0})
    assert h.first_records(cluster.bootstrap, group, topic, [0]) == {0: (0, "p0-0")}


def test_delete_offsets_for_a_topic_then_delete_the_group(cluster: Cluster) -> None:
    keep, drop = h.make_topic(cluster.bootstrap, 1), h.make_topic(cluster.bootstrap, 2)
    h.produce(cluster.bootstrap, keep, 0, [_now_ms()] * 3)
    for p in range(2):
        h.produce(cluster.bootstrap, drop, p, [_now_ms()] * 3)
    group = h.unique("grp-del")
    h.consume_to(cluster.bootstrap, group, keep, {0: 2})
    h.consume_to(cluster.bootstrap, group, drop, {0: 1, 1: 3})
    c = h.cluster(cluster.bootstrap)

    assert kg.delete_group_offsets(c, group, drop) == [0, 1]

    assert kg.committed_offsets(c, [group])[group] == {(keep, 0): 2}
    with pytest.raises(ClusterError, match="no committed offsets"):
        kg.delete_group_offsets(c, group, drop)

    kg.delete_group(c, group)
    assert group not in {g.group_id for g in kg.list_groups(c)}


def test_bad_reset_requests_get_readable_messages(cluster: Cluster) -> None:
    topic = h.make_topic(cluster.bootstrap, partitions=2)
    group = h.unique("grp-bad")
    c = h.cluster(cluster.bootstrap)
    with pytest.raises(InputError, match="no committed offsets yet"):
        plan_reset(c, group, ResetSpec("earliest"), topic=None, partitions=None, now_ms=0)
    with pytest.raises(InputError, match="there is no partition 7"):
        plan_reset(c, group, ResetSpec("earliest"), topic=topic, partitions=[7], now_ms=0)
    with pytest.raises(ClusterError, match="does not exist"):
        plan_reset(
            c, group, ResetSpec("earliest"), topic="nope-" + topic, partitions=None, now_ms=0
        )


def test_all_groups_lag_times_groups_sharing_a_partition(cluster: Cluster) -> None:
    topic = h.make_topic(cluster.bootstrap, partitions=1)
    now = _now_ms()
    h.produce(cluster.bootstrap, topic, 0, [now - (10 - i) * MINUTE for i in range(10)])
    early, late = h.unique("grp-early"), h.unique("grp-late")
    h.consume_to(cluster.bootstrap, early, topic, {0: 2})
    h.consume_to(cluster.bootstrap, late, topic, {0: 7})
    records.forget_timestamps()

    lags = {
        g.description.group_id: g
        for g in measure.all_groups_lag(h.cluster(cluster.bootstrap), now_ms=now)
    }

    assert (lags[early].total_lag, lags[early].max_lag_ms) == (8, 8 * MINUTE)
    assert (lags[late].total_lag, lags[late].max_lag_ms) == (3, 3 * MINUTE)


def test_more_groups_than_a_connection_may_have_in_flight_are_read_at_once(
    cluster: Cluster,
) -> None:
    """kafka-python refuses requests past its in-flight cap on one connection ("Node
    paused"); the console's committed offsets of every group must not hit it."""
    topic = h.make_topic(cluster.bootstrap, partitions=1)
    h.produce(cluster.bootstrap, topic, 0, [_now_ms()] * 3)
    groups = [h.unique(f"grp-many-{i}") for i in range(MAX_IN_FLIGHT * 2 + 5)]
    admin = AdminClient(h.conf(cluster.bootstrap))
    futures = [
        admin.alter_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(g, [TopicPartition(topic, 0, 1 + i % 2)])]
        )[g]
        for i, g in enumerate(groups)
    ]
    for future in futures:
        future.result(timeout=h.TIMEOUT)

    committed = resets.committed(h.cluster(cluster.bootstrap), groups)

    assert {g: committed[g] for g in groups} == {
        g: {(topic, 0): 1 + i % 2} for i, g in enumerate(groups)
    }


def test_offsets_left_on_a_deleted_topic_do_not_hide_the_rest(cluster: Cluster) -> None:
    kept, gone = h.make_topic(cluster.bootstrap, 1), h.make_topic(cluster.bootstrap, 1)
    for t in (kept, gone):
        h.produce(cluster.bootstrap, t, 0, [_now_ms()] * 4)
    group = h.unique("grp-gone")
    h.consume_to(cluster.bootstrap, group, kept, {0: 1})
    h.consume_to(cluster.bootstrap, group, gone, {0: 2})
    admin = AdminClient(h.conf(cluster.bootstrap))
    admin.delete_topics([gone])[gone].result(timeout=h.TIMEOUT)
    deadline = time.monotonic() + h.TIMEOUT
    while gone in admin.list_topics(timeout=5).topics and time.monotonic() < deadline:
        time.sleep(0.1)  # bounded wait: deletion finishes after DeleteTopics answers

    lag = measure.group_lag(h.cluster(cluster.bootstrap), group)

    rows = {r.topic: r for r in lag.partitions}
    assert (rows[kept].end, rows[kept].lag) == (4, 3)
    if gone in rows:  # a broker may keep a deleted topic's offsets for a while
        assert (rows[gone].committed, rows[gone].end, rows[gone].lag) == (2, -1, None)
    assert lag.total_lag == 3


def test_lag_in_time_below_the_log_start_uses_the_oldest_kept_record(cluster: Cluster) -> None:
    topic = h.make_topic(cluster.bootstrap, partitions=1)
    now = _now_ms()
    h.produce(cluster.bootstrap, topic, 0, [now - (30 - i) * MINUTE for i in range(10)])
    group = h.unique("grp-trimmed")
    h.consume_to(cluster.bootstrap, group, topic, {0: 2})
    admin = AdminClient(h.conf(cluster.bootstrap))
    trimmed = admin.delete_records([TopicPartition(topic, 0, 5)])
    for future in trimmed.values():
        future.result(timeout=h.TIMEOUT)

    lag = measure.group_lag(h.cluster(cluster.bootstrap), group, now_ms=now)

    [row] = lag.partitions
    assert (row.committed, row.lag) == (2, 8)
    assert row.lag_ms == 25 * MINUTE  # record 5, the oldest kept, is 25 minutes old


def test_groups_coordinated_by_every_broker_are_listed_with_their_lag(cluster: Cluster) -> None:
    """On three nodes each broker coordinates a third of the groups: the listing, the
    descriptions and the lag of all groups gather every broker's share."""
    topic = h.make_topic(cluster.bootstrap, partitions=1)
    copies = AdminClient(h.conf(cluster.bootstrap)).list_topics(topic, timeout=h.TIMEOUT)
    assert len(copies.topics[topic].partitions[0].replicas) == cluster.nodes
    h.produce(cluster.bootstrap, topic, 0, [_now_ms()] * 6)
    # The first commit makes the offsets topic whose leaders place the groups.
    h.consume_to(cluster.bootstrap, h.unique("grp-first"), topic, {0: 1})
    per_node = coordinators.ids_per_node(cluster.bootstrap, coordinators.GROUPS_TOPIC, "grp-every")
    assert len(per_node) == cluster.nodes
    for read, group in enumerate(per_node.values(), start=1):
        h.consume_to(cluster.bootstrap, group, topic, {0: read})
    c = h.cluster(cluster.bootstrap)
    records.forget_timestamps()

    listed = {g.group_id for g in kg.list_groups(c)}
    described = kg.describe_groups(c, list(per_node.values()))
    lags = {g.description.group_id: g.total_lag for g in measure.all_groups_lag(c)}

    assert set(per_node.values()) <= listed
    assert {node: described[g].coordinator for node, g in per_node.items()} == {
        node: coordinators.address_of(cluster.bootstrap, node) for node in per_node
    }
    assert [lags[g] for g in per_node.values()] == [
        6 - read for read in range(1, cluster.nodes + 1)
    ]


def _replicas(bootstrap: str, topic: str, partition: int) -> tuple[int, list[int]]:
    """(leader, replicas) of one partition, as the metadata says now."""
    info = AdminClient(h.conf(bootstrap)).list_topics(topic, timeout=h.TIMEOUT)
    part = info.topics[topic].partitions[partition]
    return part.leader, list(part.replicas)


def _lead_with(
    cluster: ClusterConfig, bootstrap: str, tp: tuple[str, int], order: list[int]
) -> None:
    """Give the partition replica order `order` and make its first replica lead."""
    replicas.reassign(cluster, {tp: order})
    deadline = time.monotonic() + h.TIMEOUT
    while _replicas(bootstrap, *tp) != (order[0], order) and time.monotonic() < deadline:
        replicas.elect_preferred(cluster, [tp])
        time.sleep(0.2)  # bounded wait: the new leader reaches every broker's metadata
    assert _replicas(bootstrap, *tp) == (order[0], order)


@pytest.mark.kafka_cluster
def test_a_group_whose_coordinator_moved_is_described_at_its_new_coordinator(
    kafka_cluster: KafkaCluster,
) -> None:
    """A leader election moves a group's coordinator to another node (as a node's restart
    does); the console's clients, which knew the old one, find the new one."""
    bootstrap = kafka_cluster.bootstrap
    topic = h.make_topic(bootstrap, partitions=1)
    h.produce(bootstrap, topic, 0, [_now_ms()] * 3)
    group = h.unique("grp-moved")
    h.consume_to(bootstrap, group, topic, {0: 2})
    c = h.cluster(bootstrap)
    tp = (
        coordinators.GROUPS_TOPIC,
        coordinators.partition_of(bootstrap, coordinators.GROUPS_TOPIC, group),
    )
    leader, order = _replicas(bootstrap, *tp)
    assert kg.describe_group(c, group).coordinator == coordinators.address_of(bootstrap, leader)
    moved = [*order[1:], order[0]]
    try:
        _lead_with(c, bootstrap, tp, moved)

        # The new coordinator serves what its high watermark covers: the last commit shows
        # once its copy of the offsets caught up (bounded wait; an error or a crash fails).
        deadline = time.monotonic() + h.TIMEOUT
        while not (committed := kg.committed_offsets(c, [group])[group]):
            assert time.monotonic() < deadline, "the moved group's offsets never showed"
            time.sleep(0.2)
        described = kg.describe_group(c, group)
        lags = {g.description.group_id: g.total_lag for g in measure.all_groups_lag(c)}

        assert described.coordinator == coordinators.address_of(bootstrap, moved[0])
        assert described.state == "EMPTY"
        assert committed == {(topic, 0): 2}
        assert lags[group] == 1
    finally:
        _lead_with(c, bootstrap, tp, order)
