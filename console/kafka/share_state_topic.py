"""Reading Kafka's `__share_group_state` topic, where the share coordinator persists each
share-partition's state (Apache Kafka only: the bundled broker keeps that state in files
of its own and has no such topic).

Owns one read of every partition of the topic from its log start to its log end, within
the caller's budget, through the message browser's short-lived consumer
(`console.kafka.records`). Decoding and replaying the records is `console.share_state`'s.
It must never write to the topic nor join a group.
"""

from __future__ import annotations

from console.kafka import metadata, offsets, records
from console.kafka.config import ClusterConfig
from console.kafka.errors import NotFound
from console.kafka.records import Budget

STATE_TOPIC = "__share_group_state"


def state_records(
    cluster: ClusterConfig, budget: Budget
) -> tuple[list[tuple[bytes | None, bytes | None]], bool] | None:
    """(key, value) of every record, partition by partition in log order, and whether
    the whole topic was read within `budget`; None when the cluster has no such topic."""
    try:
        parts = metadata.partitions_of(cluster, STATE_TOPIC)
    except NotFound:
        return None
    tps = [(STATE_TOPIC, p) for p in parts]
    ranges = offsets.ranges(cluster, tps)
    spans = {p: ranges[(STATE_TOPIC, p)] for p in parts}
    total = sum(max(0, end - start) for start, end in spans.values())
    found, reached = records.read_partitions(
        cluster,
        STATE_TOPIC,
        spans,
        backward=False,
        keep=lambda _r: True,
        want=max(total, 1),
        budget=budget,
    )
    complete = all(reached.get(p, start) >= end for p, (start, end) in spans.items())
    out = [(r.key, r.value) for p in parts for r in found.get(p, [])]
    return out, complete
