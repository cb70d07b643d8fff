"""The cluster's brokers as an operator sees them: address, rack, controller, partitions
led and held, disk use per log directory, and whether each broker answers.

Owns one fresh read (never the snapshot): librdkafka's DescribeCluster and Metadata for the
brokers, the controller and every partition's replicas, then DescribeLogDirs of every
replica sent to each broker at once. A broker that holds copies but is missing from
Metadata (stopped, fenced) is listed as not reachable. It must never change anything and
never decide what the figures mean (`console.replication` does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from console.kafka import clients, wire
from console.kafka.config import ClusterConfig
from console.kafka.errors import ClusterError, readable
from console.kafka.metadata import cluster_metadata


@dataclass(frozen=True)
class LogDir:
    path: str
    used: int  # bytes of the partitions in it
    total: int | None = None  # the volume's size, when the broker reports it
    usable: int | None = None
    error: str = ""


@dataclass
class BrokerView:
    node_id: int
    address: str = ""
    rack: str = ""
    controller: bool = False
    reachable: bool = True
    leads: int = 0
    holds: int = 0
    log_dirs: list[LogDir] = field(default_factory=list)
    problem: str = ""

    @property
    def used(self) -> int:
        return sum(d.used for d in self.log_dirs)


def brokers(cluster: ClusterConfig) -> list[BrokerView]:
    """Every broker the cluster knows of, live ones with their log directories."""
    md = cluster_metadata(cluster)
    views = {
        node_id: BrokerView(node_id, address=f"{b.host}:{b.port}")
        for node_id, b in md.brokers.items()
    }
    for topic in md.topics.values():
        for p in topic.partitions.values():
            for replica in p.replicas:
                views.setdefault(replica, BrokerView(replica, reachable=False)).holds += 1
            if p.leader in views:
                views[p.leader].leads += 1
    _describe_cluster(cluster, views)
    for view in views.values():
        if not view.reachable:
            view.problem = (
                "Not registered with the controller: the broker is stopped, or cannot "
                "reach the controller. Its copies are not being kept in sync."
            )
    _log_dirs(cluster, views)
    return sorted(views.values(), key=lambda v: v.node_id)


def _describe_cluster(cluster: ClusterConfig, views: dict[int, BrokerView]) -> None:
    try:
        described = (
            clients.of(cluster)
            .admin()
            .describe_cluster(request_timeout=cluster.timeout_s)
            .result(timeout=cluster.timeout_s + 1)
        )
    except Exception as exc:
        raise ClusterError(f"Could not describe the cluster: {readable(exc)}") from exc
    controller = described.controller.id if described.controller is not None else None
    for node in described.nodes:
        view = views.setdefault(node.id, BrokerView(node.id))
        view.address = view.address or f"{node.host}:{node.port}"
        view.rack = node.rack or ""
        view.reachable = True
        view.controller = node.id == controller


def _log_dirs(cluster: ClusterConfig, views: dict[int, BrokerView]) -> None:
    live = [v.node_id for v in views.values() if v.reachable]

    async def read(manager: Any) -> dict[Any, Any]:
        from kafka.protocol.admin import DescribeLogDirsRequest

        # topics=None: every replica the broker holds (this page wants the whole disk).
        requests = [(n, DescribeLogDirsRequest(topics=None), n) for n in live]
        return await wire.gather(manager, requests, cluster.timeout_s)

    answers = wire.run(cluster, "read the brokers' log directories", read)
    for node_id, answer in answers.items():
        view = views[node_id]
        if isinstance(answer, BaseException):
            view.reachable = False
            view.problem = f"Did not answer: {readable(answer)}"
            continue
        for result in answer.results:
            used = sum(p.partition_size for t in result.topics for p in t.partitions)
            total = getattr(result, "total_bytes", -1)
            usable = getattr(result, "usable_bytes", -1)
            view.log_dirs.append(
                LogDir(
                    path=result.log_dir,
                    used=used,
                    total=total if total is not None and total >= 0 else None,
                    usable=usable if usable is not None and usable >= 0 else None,
                    error=_error(result.error_code),
                )
            )


def _error(code: int) -> str:
    if not code:
        return ""
    from kafka import errors as kp_errors

    return kp_errors.for_code(code).__name__
