"""Aborting a hanging transaction the way `kafka-transactions.sh abort` does.

Owns the one write the Transactions page makes: for a producer's id and epoch, ask each
partition's leader which coordinator epoch it knows for that producer (DescribeProducers),
then send that leader WriteTxnMarkers with an abort marker, so the last stable offset moves
past the transaction's records. Also owns whether a cluster allows it at all: the brokers
must advertise WriteTxnMarkers. It must never decide who may abort (the view does) nor
touch a transaction that is not the one named.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from console.kafka import bulk, wire
from console.kafka.config import ClusterConfig
from console.kafka.errors import ClusterError
from console.kafka.transactions import TP, leaders_of

WRITE_TXN_MARKERS = 27


def supported(cluster: ClusterConfig) -> bool:
    """Whether the cluster's brokers advertise WriteTxnMarkers."""

    async def read(manager: Any) -> bool:
        conn = await manager.get_connection(manager.least_loaded_node())
        return WRITE_TXN_MARKERS in conn.broker_version_data.api_versions

    return wire.run(cluster, "read which requests the cluster answers", read)


def abort(
    cluster: ClusterConfig, producer_id: int, producer_epoch: int, partitions: list[TP]
) -> dict[TP, str]:
    """Write abort markers for the producer on `partitions`; {partition: error name} for
    the partitions a leader refused (empty when every marker was written)."""

    async def write(manager: Any) -> dict[TP, str]:
        from kafka.protocol.admin import DescribeProducersRequest
        from kafka.protocol.producer import WriteTxnMarkersRequest

        limit = cluster.timeout_s
        leaders = await leaders_of(manager, sorted({t for t, _ in partitions}), limit)
        by_leader: dict[int, list[TP]] = defaultdict(list)
        for tp in partitions:
            if tp not in leaders:
                raise ClusterError(f"{tp[0]}[{tp[1]}] has no leader")
            by_leader[leaders[tp]].append(tp)
        described = await wire.gather(
            manager,
            [
                (
                    n,
                    DescribeProducersRequest(
                        topics=_topics(tps, DescribeProducersRequest.TopicRequest)
                    ),
                    n,
                )
                for n, tps in by_leader.items()
            ],
            limit,
        )
        epochs: dict[int, int] = {}
        for node, answer in described.items():
            if isinstance(answer, BaseException):
                raise ClusterError(f"broker {node} did not describe its producers: {answer}")
            for t in answer.topics:
                for p in t.partitions:
                    for s in p.active_producers:
                        if s.producer_id == producer_id:
                            epochs[node] = max(epochs.get(node, -1), s.coordinator_epoch)
        markers = defaultdict(list)
        for node, tps in by_leader.items():
            markers[node].append(
                WriteTxnMarkersRequest.WritableTxnMarker(
                    producer_id=producer_id,
                    producer_epoch=producer_epoch,
                    transaction_result=False,
                    topics=_topics(
                        tps,
                        WriteTxnMarkersRequest.WritableTxnMarker.WritableTxnMarkerTopic,
                    ),
                    coordinator_epoch=epochs.get(node, 0),
                )
            )
        written = await wire.gather(
            manager,
            [(n, WriteTxnMarkersRequest(markers=m, max_version=1), n) for n, m in markers.items()],
            limit,
        )
        refused: dict[TP, str] = {}
        for node, answer in written.items():
            if isinstance(answer, BaseException):
                for tp in by_leader[node]:
                    refused[tp] = str(answer)
                continue
            for m in answer.markers:
                for t in m.topics:
                    for p in t.partitions:
                        if p.error_code:
                            refused[(t.name, p.partition_index)] = bulk.error_name(p.error_code)
        return refused

    return wire.run(cluster, "abort the transaction", write)


def _topics(tps: list[TP], cls: Any) -> list[Any]:
    """`tps` grouped by topic as `cls(name=..., partition_indexes=[...])` entries (both
    requests name their partitions that way)."""
    by_topic: dict[str, list[int]] = defaultdict(list)
    for t, p in tps:
        by_topic[t].append(p)
    return [cls(name=t, partition_indexes=ps) for t, ps in sorted(by_topic.items())]
