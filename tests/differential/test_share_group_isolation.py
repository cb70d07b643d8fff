"""Differential: `share.isolation.level` with a real transactional producer (confluent-kafka).

A committed, an aborted and an open transaction on one partition. A read_committed share
group acquires the committed data and both markers, never the aborted data, and nothing
from the open transaction until it commits; a read_uncommitted group acquires everything
written. Both brokers must hand out the same offset ranges with the same delivery counts.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from confluent_kafka import Producer

from tests.clusters import Cluster
from tests.differential.harness import (
    QUIET,
    TIMEOUT,
    assert_same,
    create_topic,
    observe,
    unique_topic,
)
from tests.differential.test_share_groups import (
    Conn,
    _acquired,
    _join,
    _open_and_acquire,
    set_group_config,
    share_fetch,
    topic_id,
    wait_coordinator,
)

pytestmark = pytest.mark.kafka


def _transaction(producer: Producer, topic: str, values: list[bytes], end: str) -> None:
    producer.begin_transaction()
    for value in values:
        producer.produce(topic, value=value, partition=0)
    producer.flush(TIMEOUT)
    if end == "commit":
        producer.commit_transaction(TIMEOUT)
    elif end == "abort":
        producer.abort_transaction(TIMEOUT)


def _group(cluster: Cluster, topic: str, isolation: str) -> tuple[str, str]:
    group = f"diff-share-iso-{uuid.uuid4().hex[:8]}"
    wait_coordinator(cluster, group)
    set_group_config(cluster, group, "share.auto.offset.reset", "earliest")
    out = set_group_config(cluster, group, "share.isolation.level", isolation)
    assert out == "NONE", out
    member = str(uuid.uuid4())
    _join(cluster, group, member, topic)
    return group, member


def scenario(cluster: Cluster) -> dict[str, Any]:
    topic = unique_topic("share-iso")
    create_topic(cluster, topic)
    tid = topic_id(cluster, topic)
    producer = Producer(
        {
            "bootstrap.servers": cluster.bootstrap,
            "transactional.id": f"share-iso-{uuid.uuid4().hex[:8]}",
            **QUIET,
        }
    )
    producer.init_transactions(TIMEOUT)
    _transaction(producer, topic, [b"c0", b"c1", b"c2"], "commit")  # 0-2, marker 3
    _transaction(producer, topic, [b"a0", b"a1", b"a2"], "abort")  # 4-6, marker 7
    _transaction(producer, topic, [b"o0", b"o1"], "open")  # 8-9, still open
    out: dict[str, Any] = {
        "bad level": set_group_config(cluster, "g", "share.isolation.level", "x")
    }
    committed, member = _group(cluster, topic, "read_committed")
    uncommitted, other = _group(cluster, topic, "read_uncommitted")
    conn = Conn(cluster)
    try:
        epoch, out["committed first"] = _open_and_acquire(conn, committed, member, tid)
        # Nothing more before the open transaction ends: the fetch waits and comes back empty.
        out["committed while open"] = _acquired(share_fetch(conn, committed, member, epoch, tid))
        producer.commit_transaction(TIMEOUT)  # marker 10
        # Everything acquired so far stays held (no acknowledgements are sent).
        _, out["committed after commit"] = _open_and_acquire(conn, committed, member, tid)
    finally:
        conn.close()
    conn = Conn(cluster)
    try:
        _, out["uncommitted"] = _open_and_acquire(conn, uncommitted, other, tid)
    finally:
        conn.close()
    return out


def test_share_isolation_level_matches_kafka(clusters: tuple[Cluster, Cluster]) -> None:
    seen = observe(clusters, scenario)
    assert_same(seen)
    ours = seen["odradek"]
    acquired = {o for f, la, _ in ours["committed first"] for o in range(f, la + 1)}
    assert not acquired & {4, 5, 6, 8, 9}, ours
