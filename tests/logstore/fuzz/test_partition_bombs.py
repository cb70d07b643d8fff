"""A fuzzing finding: one admin request asking for a huge partition count.

Creating partitions is synchronous storage work (files per partition), so a single
CreateTopics or CreatePartitions naming tens of thousands of partitions used to stall the
broker and exhaust its file descriptors. Kafka's controller refuses any request whose
partitions add up to more than 10,000 with POLICY_VIOLATION; so does Odradek, and these
scenarios run against both brokers.
"""

from __future__ import annotations

import uuid
from typing import Any

from logstore.broker.build import make
from logstore.protocol import codec
from tests.clusters import Cluster
from tests.differential.wire import exchange
from tests.logstore.broker.wire import schema

CREATE_TOPICS, CREATE_PARTITIONS = 19, 37
POLICY_VIOLATION = 44


def _ask(cluster: Cluster, api_key: int, version: int, **fields: Any) -> Any:
    request = make(codec.request_class(api_key, version), **fields)
    raw = codec.encode_request(codec.RequestHeader(api_key, version, 3, "bombs"), request)
    reply = exchange(cluster.bootstrap, raw)
    assert not isinstance(reply, str), reply
    return codec.decode_response(api_key, version, reply)[1]


def _create(cluster: Cluster, topics: dict[str, int], validate_only: bool = False) -> Any:
    s = schema(CREATE_TOPICS, 7)
    return _ask(
        cluster, CREATE_TOPICS, 7,
        topics=tuple(
            make(s.CreatableTopic, name=name, num_partitions=n, replication_factor=1,
                 assignments=(), configs=())
            for name, n in topics.items()
        ),
        timeout=30_000, validate_only=validate_only,
    )  # fmt: skip


def test_create_topics_over_10000_partitions_in_one_request(cluster: Cluster) -> None:
    base = f"bomb-{uuid.uuid4().hex[:8]}"
    response = _create(cluster, {f"{base}-a": 6_000, f"{base}-b": 4_001}, validate_only=True)
    assert [int(t.error_code) for t in response.topics] == [POLICY_VIOLATION] * 2
    assert response.topics[0].error_message == "Excessively large number of partitions per request."
    response = _create(cluster, {f"{base}-c": 2**31 - 1})
    assert [int(t.error_code) for t in response.topics] == [POLICY_VIOLATION]
    response = _create(cluster, {f"{base}-d": 10_000}, validate_only=True)
    assert [int(t.error_code) for t in response.topics] == [POLICY_VIOLATION]  # with its record
    assert (
        response.topics[0].error_message == "Unable to perform excessively large batch operation."
    )
    response = _create(cluster, {f"{base}-e": 9_999}, validate_only=True)
    assert [int(t.error_code) for t in response.topics] == [0]


def test_create_partitions_over_10000_in_one_request(cluster: Cluster) -> None:
    topic = f"bomb-{uuid.uuid4().hex[:8]}"
    assert [int(t.error_code) for t in _create(cluster, {topic: 1}).topics] == [0]
    s = schema(CREATE_PARTITIONS, 3)
    response = _ask(
        cluster, CREATE_PARTITIONS, 3,
        topics=(make(s.CreatePartitionsTopic, name=topic, count=2**31 - 1, assignments=None),),
        timeout=30_000, validate_only=False,
    )  # fmt: skip
    result = response.results[0]
    assert int(result.error_code) == POLICY_VIOLATION
    assert result.error_message == "Excessively large number of additional partitions per request."
