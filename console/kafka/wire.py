"""kafka-python's network thread, for the reads librdkafka makes expensive or cannot make.

Owns `run`, which executes a coroutine of protocol requests on a cluster's kafka-python
client (`console.kafka.clients`), and `gather`, which puts many requests in flight at once.
The console uses it for bulk and batched reads: ListOffsets for thousands of partitions in
one request per leader, DescribeLogDirs (sizes), DescribeConfigs naming only the keys
wanted, and the offset-reset preview's few rounds. It must never decide what to ask for
and never let a client exception escape as anything but `ClusterError`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from console.kafka import clients
from console.kafka.config import MAX_IN_FLIGHT, ClusterConfig
from console.kafka.errors import ClusterError, Unreachable, readable

T = TypeVar("T")


def run(cluster: ClusterConfig, what: str, coro: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run `coro(manager, *args)` on the cluster's client thread and return its result.

    Any failure becomes `ClusterError("Could not <what>: ...")`; a client whose
    connection broke is dropped so the next call connects afresh.
    """
    c = clients.of(cluster).wire()
    try:
        return c._manager.run(coro, c._manager, *args)
    except Unreachable as exc:
        clients.forget(cluster)
        raise Unreachable(clients.unreachable(cluster, str(exc))) from exc
    except ClusterError:
        raise
    except Exception as exc:
        clients.forget(cluster)
        raise ClusterError(f"Could not {what}: {readable(exc)}") from exc


async def gather(
    manager: Any, requests: list[tuple[Any, Any, int]], limit_s: float
) -> dict[Any, Any]:
    """Send every (key, request, node_id), then collect {key: response or error}.

    Requests are written before their answers are awaited, so the cluster works on them
    back to back and the client encodes the next while the cluster answers one — in
    rounds of at most MAX_IN_FLIGHT per broker, the most kafka-python lets wait on one
    connection (it refuses the rest with "Node paused"): reading the offsets of every
    group on a cluster asks one coordinator hundreds of times.
    """
    out: dict[Any, Any] = {}
    pending = list(requests)
    while pending:
        per_node: dict[Any, int] = {}
        batch, later = [], []
        for item in pending:
            node = item[2]
            if per_node.get(node, 0) < MAX_IN_FLIGHT:
                per_node[node] = per_node.get(node, 0) + 1
                batch.append(item)
            else:
                later.append(item)
        futures = [(k, manager.send(request, node_id=node)) for k, request, node in batch]
        for k, future in futures:
            try:
                out[k] = await manager.wait_for(future, int(limit_s * 1000))
            except Exception as exc:
                out[k] = exc
        pending = later
    return out
