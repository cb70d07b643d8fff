"""Offsets by kind, for many partitions in one batched lookup.

Owns ListOffsets through the cluster's long-lived offsets consumer
(`console.kafka.clients`): the earliest (log start), latest (log end) and first offset at
or after a time, for any number of partitions per call, retried briefly while a fresh
topic's leaders settle. It must never read records or commit anything.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException, TopicPartition

from console.kafka import clients
from console.kafka.config import ClusterConfig
from console.kafka.errors import ClusterError, kafka_reason

TP = tuple[str, int]
# ListOffsets "timestamps" with a meaning of their own.
LATEST, EARLIEST = -1, -2
_LEADER_MOVING = {KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE}


def lookup(
    cluster: ClusterConfig,
    tps: Iterable[TP],
    spec: int,
    *,
    what: str,
    timeout: float | None = None,
    partial: bool = False,
) -> dict[TP, int]:
    """The offset of `spec` (EARLIEST, LATEST or a time in ms) per partition; -1 where no
    record is that new. With `partial`, partitions the broker refused are left out (a
    group may still hold offsets for a topic deleted since)."""
    request = [TopicPartition(t, p, spec) for t, p in tps]
    if not request:
        return {}
    c = clients.of(cluster)
    consumer = c.offsets()
    deadline = time.monotonic() + (timeout if timeout is not None else cluster.timeout_s)
    while True:
        try:
            with c.offsets_lock:
                answers = consumer.offsets_for_times(
                    request, timeout=max(0.1, deadline - time.monotonic())
                )
            break
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            # A fresh topic may not have its leaders yet ("not leader for partition"):
            # that passes in a moment, so retry while the time allows.
            passing = isinstance(err, KafkaError) and (
                err.retriable() or err.code() in _LEADER_MOVING
            )
            if not passing or time.monotonic() > deadline - 0.2:
                raise ClusterError(f"{what}: {kafka_reason(exc)}") from exc
            time.sleep(0.1)
    out: dict[TP, int] = {}
    for tp in answers:
        if tp.error is None:
            out[(tp.topic, tp.partition)] = tp.offset
        elif not partial:
            raise ClusterError(f"{what} of {tp.topic}[{tp.partition}]: {tp.error.str()}")
    return out


def ranges(
    cluster: ClusterConfig, tps: list[TP], timeout: float | None = None
) -> dict[TP, tuple[int, int]]:
    """(log start, log end) per partition."""
    starts = lookup(cluster, tps, EARLIEST, what="log start", timeout=timeout)
    ends = lookup(cluster, tps, LATEST, what="log end", timeout=timeout)
    return {tp: (starts[tp], ends[tp]) for tp in tps}
