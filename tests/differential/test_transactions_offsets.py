"""Differential: offsets in transactions, frame by frame (raw connections, so no client
retries or hides an error): TxnOffsetCommit at every version before and after
AddOffsetsToTxn, its per-partition and group errors (unknown topic and partition, empty
group id, fenced epoch, unknown producer id, metadata too large, generation and member
checks of a simple group and of a group with a member), OffsetFetch `require_stable`
while offsets are pending (v7–9) and without it, and what a commit and an abort leave.

Apache Kafka writes the markers after EndTxn answers, so a fetch right after EndTxn may
still be unstable there: the scenario waits for stability before it observes."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic

from logstore.protocol.api_keys import ApiKey
from tests.clients.test_groups_wire import join, nested, request
from tests.clients.txn_wire import TxnWire, offset_fetch
from tests.clusters import Cluster
from tests.differential.harness import TIMEOUT, assert_same, observe

pytestmark = pytest.mark.kafka

UNSTABLE_OFFSET_COMMIT = 88


def _named(rows: list[tuple[Any, ...]], names: dict[str, str]) -> list[tuple[Any, ...]]:
    """Topic names are per run: replace them with their labels, codes with ints."""
    return [tuple(names.get(x, x) if isinstance(x, str) else int(x) for x in row) for row in rows]


def _stable(t: TxnWire, group: str, topic: str) -> list[tuple[Any, ...]]:
    deadline = time.monotonic() + TIMEOUT
    while True:
        rows = offset_fetch(t.client, 8, group, topic, True)
        if all(r[3] != UNSTABLE_OFFSET_COMMIT for r in rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)  # Kafka's markers are written after EndTxn answers


def _find_group_coordinator(t: TxnWire, group: str) -> int:
    # On Kafka this creates `__consumer_offsets`, as every client's first group call does.
    req = request(ApiKey.FIND_COORDINATOR, 3, key=group, key_type=0)
    return int(t._until_ready(lambda: t.client.call(ApiKey.FIND_COORDINATOR, 3, req)).error_code)


def _offset_delete(t: TxnWire, group: str, topic: str, partition: int) -> tuple[int, ...]:
    part = nested(
        ApiKey.OFFSET_DELETE, 0, "OffsetDeleteRequestPartition", partition_index=partition
    )
    req = request(
        ApiKey.OFFSET_DELETE,
        0,
        group_id=group,
        topics=(
            nested(
                ApiKey.OFFSET_DELETE, 0, "OffsetDeleteRequestTopic", name=topic, partitions=(part,)
            ),
        ),
    )
    answer = t.client.call(ApiKey.OFFSET_DELETE, 0, req)
    return (int(answer.error_code), *(int(p.error_code) for p in answer.topics[0].partitions))


def _delete_group(t: TxnWire, group: str) -> int:
    req = request(ApiKey.DELETE_GROUPS, 2, groups_names=(group,))
    (result,) = t.client.call(ApiKey.DELETE_GROUPS, 2, req).results
    return int(result.error_code)


def _describe(t: TxnWire, group: str) -> tuple[Any, ...]:
    req = request(ApiKey.DESCRIBE_GROUPS, 5, groups=(group,), include_authorized_operations=False)
    (found,) = t.client.call(ApiKey.DESCRIBE_GROUPS, 5, req).groups
    return int(found.error_code), found.group_state, found.protocol_type, len(found.members)


def scenario(cluster: Cluster) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    topic, missing = f"txo-{run}", f"txo-missing-{run}"
    names = {topic: "T", missing: "MISSING"}
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap, "log_level": 3})
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(TIMEOUT)
    group, members, doomed = f"txo-g-{run}", f"txo-members-{run}", f"txo-doomed-{run}"
    seen: dict[str, Any] = {}
    t = TxnWire(cluster.bootstrap, f"txo-tx-{run}")
    try:
        seen["find"] = (_find_group_coordinator(t, group), t.find_coordinator())
        seen["init"] = t.init()

        def commit(label: str, version: int, offsets: Any, **kw: Any) -> None:
            seen[label] = _named(
                t.commit_offsets(version, kw.pop("group", group), offsets, **kw), names
            )

        for v in range(5):
            commit(f"before AddOffsetsToTxn v{v}", v, {topic: [(0, 5)]})
        seen["add"] = t.add_offsets(group)
        commit("unknown topic and partition", 3, {topic: [(0, 5), (9, 1)], missing: [(0, 1)]})
        commit("empty group id", 3, {topic: [(0, 5)], missing: [(0, 1)]}, group="")
        commit("older epoch", 3, {topic: [(0, 5)]}, epoch=t.epoch - 1)
        commit("newer epoch", 3, {topic: [(0, 5)]}, epoch=t.epoch + 1)
        commit("other producer id", 3, {topic: [(0, 5)]}, producer_id=t.producer_id + 99)
        commit("metadata too large", 3, {topic: [(0, 5)]}, metadata="x" * 5000)
        commit("generation of a simple group", 3, {topic: [(0, 5)]}, generation_id=1)
        commit("member without generation", 3, {topic: [(0, 5)]}, member_id="m")
        commit("pending", 3, {topic: [(0, 7)]})
        # Open here at this epoch: Kafka's log does not ask the transaction coordinator.
        commit("other transactional id", 3, {topic: [(0, 7)]}, transactional_id=f"nobody-{run}")
        for v in (7, 8, 9):
            seen[f"stable v{v}"] = _named(offset_fetch(t.client, v, group, topic, True), names)
            seen[f"stable all v{v}"] = _named(offset_fetch(t.client, v, group, None, True), names)
        for v in (1, 6, 8):
            seen[f"unstable v{v}"] = _named(offset_fetch(t.client, v, group, topic, False), names)
        seen["commit"] = t.end(True)
        seen["after commit"] = _named(_stable(t, group, topic), names)

        seen["add again"] = t.add_offsets(group)
        commit("pending again", 1, {topic: [(0, 9), (1, 3)]})
        seen["abort"] = t.end(False)
        seen["after abort"] = _named(_stable(t, group, topic), names)

        seen["add members group"] = t.add_offsets(members)
        first = join(t.client, 5, members)
        joined = join(t.client, 5, members, first.member_id)
        seen["join"] = (first.error_code, joined.error_code, joined.generation_id)
        gen, member = joined.generation_id, joined.member_id
        commit("v2 names no member", 2, {topic: [(0, 1)]}, group=members)
        commit("v3 stranger", 3, {topic: [(0, 1)]}, group=members, generation_id=gen,
               member_id="stranger")  # fmt: skip
        commit("v3 wrong generation", 3, {topic: [(0, 1)]}, group=members, generation_id=gen + 1,
               member_id=member)  # fmt: skip
        commit("v3 unknown instance", 3, {topic: [(0, 1)]}, group=members, generation_id=gen,
               member_id=member, group_instance_id="nobody")  # fmt: skip
        commit("v3 member", 3, {topic: [(1, 2)]}, group=members, generation_id=gen,
               member_id=member)  # fmt: skip
        # In the same transaction: a simple group whose offsets are deleted while pending.
        seen["add doomed group"] = t.add_offsets(doomed)
        commit("doomed pending", 3, {topic: [(0, 4), (1, 4)]}, group=doomed)
        seen["doomed described"] = _describe(t, doomed)
        seen["offset delete"] = _offset_delete(t, doomed, topic, 0)
        seen["doomed after offset delete"] = _named(
            offset_fetch(t.client, 8, doomed, topic, True), names
        )
        seen["delete group"] = _delete_group(t, doomed)
        seen["doomed after delete"] = _named(offset_fetch(t.client, 8, doomed, topic, True), names)
        seen["commit members"] = t.end(True)
        seen["members after commit"] = _named(_stable(t, members, topic), names)
        seen["doomed after commit"] = _named(_stable(t, doomed, topic), names)
        seen["doomed described after commit"] = _describe(t, doomed)
    finally:
        t.close()

    other = TxnWire(cluster.bootstrap, f"txo-other-{run}")
    try:
        seen["other init"] = other.init()
        for v in range(5):
            seen[f"never added v{v}"] = _named(
                other.commit_offsets(v, group, {topic: [(0, 5)]}), names
            )
    finally:
        other.close()
    return seen


def test_transactional_offset_errors_and_require_stable(clusters: tuple[Cluster, ...]) -> None:
    seen = observe(clusters, scenario)
    kafka = seen["kafka"]
    assert kafka["before AddOffsetsToTxn v3"] == [("T", 0, 48)]  # INVALID_TXN_STATE
    assert kafka["before AddOffsetsToTxn v4"] == [("T", 0, 120)]  # TRANSACTION_ABORTABLE
    assert kafka["stable v8"] == [("T", 0, -1, UNSTABLE_OFFSET_COMMIT), ("T", 1, -1, 0)]
    assert kafka["after commit"] == [("T", 0, 7, 0), ("T", 1, -1, 0)]
    assert kafka["after abort"] == [("T", 0, 7, 0), ("T", 1, -1, 0)]
    assert_same(seen)


def consumer_protocol_scenario(cluster: Cluster) -> dict[str, Any]:
    """TxnOffsetCommit's member checks against a KIP-848 group with one member."""
    run = uuid.uuid4().hex[:8]
    topic, group = f"txo-cg-{run}", f"txo-cg-group-{run}"
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap, "log_level": 3})
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(TIMEOUT)
    names = {topic: "T"}
    seen: dict[str, Any] = {}
    consumer = Consumer(
        {
            "bootstrap.servers": cluster.bootstrap,
            "group.id": group,
            "group.protocol": "consumer",
            "log_level": 3,
        }
    )
    t = TxnWire(cluster.bootstrap, f"txo-cg-tx-{run}")
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + TIMEOUT
        while len(consumer.assignment()) < 2 and time.monotonic() < deadline:
            consumer.poll(0.2)
        seen["assigned"] = sorted(tp.partition for tp in consumer.assignment())
        seen["init"] = (t.find_coordinator(), t.init(), t.add_offsets(group))
        req = request(69, 0, group_ids=(group,), include_authorized_operations=False)
        (described,) = t.client.call(69, 0, req).groups
        (member,) = described.members
        epoch = member.member_epoch

        def commit(label: str, **kw: Any) -> None:
            seen[label] = _named(t.commit_offsets(3, group, {topic: [(0, 1)]}, **kw), names)

        commit("no member named")
        commit("stranger", member_id="stranger", generation_id=1)
        commit("member", member_id=member.member_id, generation_id=epoch)
        commit("older epoch", member_id=member.member_id, generation_id=epoch - 1)
        commit("newer epoch", member_id=member.member_id, generation_id=epoch + 1)
        commit("member without epoch", member_id=member.member_id)
        seen["end"] = t.end(False)
    finally:
        consumer.close()
        t.close()
    return seen


def test_member_checks_of_a_consumer_protocol_group(clusters: tuple[Cluster, ...]) -> None:
    seen = observe(clusters, consumer_protocol_scenario)
    assert seen["kafka"]["no member named"] == [("T", 0, 0)]
    assert seen["kafka"]["older epoch"] == [("T", 0, 22)]  # ILLEGAL_GENERATION
    assert_same(seen)
