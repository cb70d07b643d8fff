"""Differential: the idempotent producer.

(The transactional scenario — commit and abort over two partitions, read_committed vs
read_uncommitted — is left out while Odradek has no transaction coordinator:
init_transactions times out. It is in git history, commit d7718d9.)"""

from __future__ import annotations

from typing import Any

import pytest

from tests.clusters import Cluster
from tests.differential.harness import (
    assert_same,
    create_topic,
    observe,
    produce,
    read_partition,
    unique_topic,
)

pytestmark = pytest.mark.kafka


def test_idempotent_producer(clusters: tuple[Cluster, ...]) -> None:
    def scenario(cluster: Cluster) -> Any:
        topic = unique_topic("idem")
        create_topic(cluster, topic)
        reports = produce(
            cluster,
            topic,
            [{"value": str(i).encode(), "timestamp": 1000 + i} for i in range(200)],
            **{"enable.idempotence": True, "acks": "all", "max.in.flight": 5},
        )
        records, errors = read_partition(cluster, topic, 0, 0, 200)
        return sorted(reports), [r[3] for r in records], errors

    seen = observe(clusters, scenario)
    reports, values, _ = seen["kafka"]
    assert [r[1] for r in reports] == list(range(200))
    assert values == [str(i).encode() for i in range(200)]
    assert_same(seen)
