"""Open transactions of a cluster, and how far each holds back read_committed consumers.

Owns the reads behind the Transactions page: every broker's ListTransactions, then
DescribeTransactions of those ids on the broker that listed them (a coordinator lists only
its own), and, per partition a transaction writes, ListOffsets at both isolation levels
(the last stable offset against the log end). It must never write anything to a cluster
nor judge what is hanging (`console.txn_state` does).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from console.kafka import bulk, wire
from console.kafka.config import ClusterConfig
from console.kafka.errors import readable
from console.kafka.model import OpenTransaction, StableOffsets

TP = tuple[str, int]
# A transaction is open from its first write until its markers are written.
OPEN_STATES = ("Ongoing", "PrepareCommit", "PrepareAbort")
_READ_UNCOMMITTED, _READ_COMMITTED = 0, 1


@dataclass
class TransactionsView:
    transactions: list[OpenTransaction] = field(default_factory=list)
    offsets: dict[TP, StableOffsets] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def open_transactions(cluster: ClusterConfig) -> TransactionsView:
    """Every open transaction on the cluster, with the offsets of the partitions it writes."""

    async def read(manager: Any) -> TransactionsView:
        return await _read(manager, cluster.timeout_s)

    return wire.run(cluster, "list the open transactions", read)


def stable_offsets(cluster: ClusterConfig, leaders: dict[TP, int]) -> dict[TP, StableOffsets]:
    """Last stable and end offsets of partitions, given {partition: leader}; partitions a
    broker refused are left out."""

    async def read(manager: Any) -> dict[TP, StableOffsets]:
        return await _offsets(manager, leaders, cluster.timeout_s, [])

    return wire.run(cluster, "read the last stable offsets", read)


def topic_stable_offsets(cluster: ClusterConfig, topic: str) -> dict[TP, StableOffsets]:
    """Last stable and end offsets of every partition of `topic`: one Metadata, then one
    ListOffsets per leader and isolation level."""

    async def read(manager: Any) -> dict[TP, StableOffsets]:
        leaders = await leaders_of(manager, [topic], cluster.timeout_s)
        return await _offsets(manager, leaders, cluster.timeout_s, [])

    return wire.run(cluster, f"read the last stable offsets of {topic}", read)


async def _read(manager: Any, limit_s: float) -> TransactionsView:
    from kafka.protocol.admin import DescribeTransactionsRequest, ListTransactionsRequest

    view = TransactionsView()
    brokers = await _brokers(manager, limit_s)
    listed = await wire.gather(
        manager,
        [
            (
                node,
                ListTransactionsRequest(state_filters=[], producer_id_filters=[], max_version=0),
                node,
            )
            for node in brokers
        ],
        limit_s,
    )
    ids: dict[int, list[str]] = {}
    for node, answer in listed.items():
        if isinstance(answer, BaseException) or answer.error_code:
            reason = (
                readable(answer)
                if isinstance(answer, BaseException)
                else bulk.error_name(answer.error_code)
            )
            view.warnings.append(f"broker {node} did not list its transactions: {reason}")
            continue
        ids[node] = sorted(
            t.transactional_id
            for t in answer.transaction_states
            if t.transaction_state in OPEN_STATES
        )
    described = await wire.gather(
        manager,
        [
            (node, DescribeTransactionsRequest(transactional_ids=tids, max_version=0), node)
            for node, tids in ids.items()
            if tids
        ],
        limit_s,
    )
    for node, answer in described.items():
        if isinstance(answer, BaseException):
            view.warnings.append(
                f"broker {node} did not describe its transactions: {readable(answer)}"
            )
            continue
        for t in answer.transaction_states:
            if t.error_code or t.transaction_state not in OPEN_STATES:
                continue  # finished, or moved to another coordinator, since it was listed
            view.transactions.append(
                OpenTransaction(
                    transactional_id=t.transactional_id,
                    producer_id=t.producer_id,
                    producer_epoch=t.producer_epoch,
                    state=t.transaction_state,
                    timeout_ms=t.transaction_timeout_ms,
                    start_ms=t.transaction_start_time_ms,
                    partitions=tuple(sorted((x.topic, p) for x in t.topics for p in x.partitions)),
                )
            )
    view.transactions.sort(
        key=lambda t: (t.start_ms if t.start_ms >= 0 else 1 << 62, t.transactional_id)
    )
    tps = {tp for t in view.transactions for tp in t.partitions}
    if tps:
        leaders = await leaders_of(manager, sorted({t for t, _ in tps}), limit_s)
        view.offsets = await _offsets(
            manager, {tp: leaders[tp] for tp in tps if tp in leaders}, limit_s, view.warnings
        )
    return view


async def _brokers(manager: Any, limit_s: float) -> list[int]:
    from kafka.protocol.metadata import MetadataRequest

    request = MetadataRequest(topics=[], allow_auto_topic_creation=False)
    answer = (await wire.gather(manager, [("md", request, manager.least_loaded_node())], limit_s))[
        "md"
    ]
    return sorted(bulk.layout_from(answer).brokers)


async def leaders_of(manager: Any, topics: list[str], limit_s: float) -> dict[TP, int]:
    request = bulk.metadata_request(existing=topics)
    answer = (await wire.gather(manager, [("md", request, manager.least_loaded_node())], limit_s))[
        "md"
    ]
    layout = bulk.layout_from(answer)
    return {
        (name, p.partition): p.leader
        for name, info in layout.topics.items()
        for p in info.partitions
    }


async def _offsets(
    manager: Any, leaders: dict[TP, int], limit_s: float, warnings: list[str]
) -> dict[TP, StableOffsets]:
    by_leader: dict[int, list[TP]] = defaultdict(list)
    for tp, node in leaders.items():
        by_leader[node].append(tp)
    wanted = [
        ((node, level), _list_offsets_request(tps, level), node)
        for node, tps in by_leader.items()
        for level in (_READ_UNCOMMITTED, _READ_COMMITTED)
    ]
    answers = await wire.gather(manager, wanted, limit_s)
    found: dict[int, dict[TP, int]] = {_READ_UNCOMMITTED: {}, _READ_COMMITTED: {}}
    for (node, level), answer in answers.items():
        if isinstance(answer, BaseException):
            warnings.append(f"broker {node} did not give its offsets: {readable(answer)}")
            continue
        for t in answer.topics:
            for p in t.partitions:
                if p.error_code:
                    warnings.append(
                        f"{t.name}[{p.partition_index}]: {bulk.error_name(p.error_code)}"
                    )
                else:
                    found[level][(t.name, p.partition_index)] = p.offset
    ends, stables = found[_READ_UNCOMMITTED], found[_READ_COMMITTED]
    return {tp: StableOffsets(stable=stables[tp], end=ends[tp]) for tp in ends if tp in stables}


def _list_offsets_request(parts: list[TP], isolation_level: int) -> Any:
    from kafka.protocol.consumer.offsets import ListOffsetsRequest

    topic_cls = ListOffsetsRequest.ListOffsetsTopic
    part_cls = topic_cls.ListOffsetsPartition
    by_topic: dict[str, list[Any]] = defaultdict(list)
    for topic, p in parts:
        by_topic[topic].append(part_cls(partition_index=p, timestamp=bulk.LATEST))
    return ListOffsetsRequest(
        replica_id=-1,
        isolation_level=isolation_level,
        topics=[topic_cls(name=name, partitions=ps) for name, ps in by_topic.items()],
        # The isolation level exists from v2 on.
        min_version=2,
        max_version=5,
    )
