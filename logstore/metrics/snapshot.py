"""A copy of everything `/metrics` reports, taken on the event loop in one step.

Owns `take_snapshot`, which reads broker and storage state and returns plain values. It
runs on the event-loop thread (the collector schedules it there), so it never races an
append or a roll; it must stay cheap (no file I/O, no decoding: sizes and offsets are
in memory) and never mutate anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from logstore.broker.stats import api_name


@dataclass
class RequestRow:
    request: str
    buckets: list[int]
    seconds: float
    errors: dict[int, int]


@dataclass
class PartitionRow:
    topic: str
    partition: int
    size: int
    log_start: int
    log_end: int
    segments: int


@dataclass
class Snapshot:
    requests: list[RequestRow] = field(default_factory=list)
    bytes_in: dict[str, int] = field(default_factory=dict)
    messages_in: dict[str, int] = field(default_factory=dict)
    bytes_out: dict[str, int] = field(default_factory=dict)
    partitions: list[PartitionRow] = field(default_factory=list)
    connections: int = 0
    groups: dict[tuple[str, str], int] = field(default_factory=dict)  # (type, state) -> n
    producer_ids: int = 0
    fsync_buckets: list[int] = field(default_factory=list)
    fsync_seconds: float = 0.0
    maintenance: dict[str, int] = field(default_factory=dict)
    authentications: dict[str, int] = field(default_factory=dict)
    # Client quota waits by quota key: (how many, total ms).
    throttles: dict[str, tuple[int, int]] = field(default_factory=dict)


def take_snapshot(broker: Any, connections: Callable[[], int]) -> Snapshot:
    """Everything the collector reports, read from `broker` (on the event loop)."""
    snap = Snapshot(connections=connections())
    for key, stats in sorted(broker.requests.apis.items()):
        snap.requests.append(
            RequestRow(api_name(key), list(stats.buckets), stats.seconds, dict(stats.errors))
        )
    traffic = broker.traffic
    snap.bytes_in = dict(traffic.bytes_in)
    snap.messages_in = dict(traffic.messages_in)
    snap.bytes_out = dict(traffic.bytes_out)
    for log in broker.logs.logs():
        snap.partitions.append(
            PartitionRow(
                log.topic,
                log.partition,
                log.size_bytes,
                log.log_start_offset,
                log.log_end_offset,
                len(log.segments),
            )
        )
    for group in broker.groups.list_groups():
        key = (group.group_type, group.state)
        snap.groups[key] = snap.groups.get(key, 0) + 1
    snap.producer_ids = broker.producers.producer_id_count()
    snap.fsync_buckets, snap.fsync_seconds = broker.logs.fsync_latency()
    snap.maintenance = dict(broker.maintenance.totals)
    snap.authentications = vars(broker.authentications).copy()
    quotas = broker.quotas
    snap.throttles = {k: (n, quotas.throttled_ms[k]) for k, n in quotas.throttled.items()}
    return snap
