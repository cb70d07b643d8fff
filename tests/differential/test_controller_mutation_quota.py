"""Differential: `controller_mutation_rate` (KIP-599) on CreateTopics, CreatePartitions and
DeleteTopics, as Apache Kafka enforces it.

A client id gets 0.1 partitions per second, so its bucket holds 1.1 (11 windows of one
second) and refills so slowly that the scenario's own pace cannot change an outcome. From
the versions Kafka made strict (CreateTopics v6, DeleteTopics v5, CreatePartitions v3) a
mutation passes while the bucket is not below zero (it may take it below), and the next is
refused with THROTTLING_QUOTA_EXCEEDED; the answer carries the time the bucket needs to
come back to zero. Before those versions every mutation passes and only the wait is
answered. Compared: each topic's error code and message (none: Kafka leaves out its
generic sentence), the wait in whole seconds (it shrinks while the scenario runs), and
which topics exist afterwards. Quotas are set on this run's client ids only and removed afterwards.
"""

from __future__ import annotations

import contextlib
import datetime
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kio.index import load_payload_module
from kio.static.constants import EntityType

from tests.clusters import Cluster
from tests.differential.harness import admin, assert_same, observe
from tests.differential.test_client_quotas import _alter, _Names, _send, _set, _settle

pytestmark = pytest.mark.kafka

CREATE_TOPICS, DELETE_TOPICS, CREATE_PARTITIONS = 19, 20, 37
RATE = 0.1  # partitions per second: a bucket of 1.1
LIMIT = datetime.timedelta(seconds=30)


@contextlib.contextmanager
def _limited(cluster: Cluster, names: _Names, *labels: str) -> Iterator[None]:
    clients = [(("client-id", names[label]),) for label in labels]
    key = "controller_mutation_rate"
    _alter(cluster, [(c, _set((key, RATE))) for c in clients], False)
    _settle(cluster, names)
    try:
        yield
    finally:
        _alter(cluster, [(c, [(key, 0.0, True)]) for c in clients], False)
        _alter(cluster, [(names.barrier, [("request_percentage", 0.0, True)])], False)


def _create(
    cluster: Cluster, client: str, version: int, topics: dict[str, int], only: bool = False
) -> Any:
    m = load_payload_module(CREATE_TOPICS, version, EntityType.request)
    return _send(
        cluster, CREATE_TOPICS, version, client, timeout=LIMIT, validate_only=only,
        topics=tuple(
            m.CreatableTopic(name=name, num_partitions=count, replication_factor=1,
                             assignments=(), configs=())
            for name, count in topics.items()
        ),
    )[1]  # fmt: skip


def _seen(answer: Any, items: str, names: dict[str, str]) -> dict[str, Any]:
    wait = answer.throttle_time.total_seconds() * 1000
    return {
        "topics": sorted(
            (names.get(t.name, t.name), int(t.error_code), t.error_message)
            for t in getattr(answer, items)
        ),
        # The wait shrinks by the time since it was found: seconds are what both agree on.
        "wait": f"about {round(wait / 1000)} s",
    }


def _scenario(cluster: Cluster) -> dict[str, Any]:
    n = _Names("strict", "loose", "parts", "deleter", "probe")
    run = uuid.uuid4().hex[:8]
    topics = {f"diff-cmq-{label}-{run}": label for label in "abcdefghijk"}
    t = {label: name for name, label in topics.items()}
    out: dict[str, Any] = {}
    with _limited(cluster, n, "strict", "loose", "parts", "deleter", "probe"):
        # v7 is strict: 1 of 1.1 taken, then 5 (the bucket was not below zero), then none.
        answer = _create(cluster, n["strict"], 7, {t["a"]: 1, t["b"]: 5, t["c"]: 1})
        out["strict create"] = _seen(answer, "topics", topics)
        out["strict create, again"] = _seen(
            _create(cluster, n["strict"], 7, {t["d"]: 1}), "topics", topics
        )
        # v5 is permissive: all pass, the answer carries the wait.
        answer = _create(cluster, n["loose"], 5, {t["e"]: 1, t["f"]: 5})
        out["permissive create"] = _seen(answer, "topics", topics)
        # A validate-only creation counts too.
        _create(cluster, n["probe"], 7, {t["k"]: 6}, only=True)
        out["after validate only"] = _seen(
            _create(cluster, n["probe"], 7, {t["k"]: 1}), "topics", topics
        )
        # CreatePartitions v3: growing e by 6 takes the bucket below zero, then growing f
        # is refused. One request each: Kafka's controller grows topics in hash order.
        m = load_payload_module(CREATE_PARTITIONS, 3, EntityType.request)
        for x in "ef":
            _, answer = _send(
                cluster, CREATE_PARTITIONS, 3, n["parts"], timeout=LIMIT, validate_only=False,
                topics=(m.CreatePartitionsTopic(name=t[x], count=7, assignments=None),),
            )  # fmt: skip
            out[f"grow {x}"] = _seen(answer, "results", topics)
        # DeleteTopics v6: deleting e (7 partitions) passes, then f (5) is refused. One
        # request each: Kafka's controller deletes a request's topics in hash order.
        m = load_payload_module(DELETE_TOPICS, 6, EntityType.request)
        for x in "ef":
            _, answer = _send(
                cluster, DELETE_TOPICS, 6, n["deleter"], timeout=LIMIT,
                topics=(m.DeleteTopicState(name=t[x], topic_id=uuid.UUID(int=0)),),
            )  # fmt: skip
            out[f"delete {x}"] = _seen(answer, "responses", topics)
    client = admin(cluster)
    existing = set(client.list_topics(timeout=20).topics)
    out["exist"] = sorted(label for name, label in topics.items() if name in existing)
    for future in client.delete_topics([x for x in topics if x in existing]).values():
        with contextlib.suppress(Exception):
            future.result(timeout=30)
    return out


def test_controller_mutation_rate_as_kafka(clusters: tuple[Cluster, Cluster]) -> None:
    kafka, odradek = clusters
    assert_same(observe((kafka, odradek), _scenario))
