"""kafka-python's network thread, for the reads librdkafka makes expensive or cannot make.

Owns `run`, which executes a coroutine of protocol requests on a cluster's kafka-python
client (`console.kafka.clients`), `gather`, which puts many requests in flight at once,
and `ask`, one request to the least loaded broker (with `reason`, Kafka's words for a
refusal in its answer).
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
from console.kafka.errors import ClusterError, Refused, Unreachable, readable

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


def ask(cluster: ClusterConfig, request: Any, what: str, unserved: str) -> Any:
    """The one answer of the least loaded broker to `request`; `Refused` saying
    `unserved` when that broker does not serve the API (an older Kafka)."""
    api_key = request.API_KEY

    async def send(manager: Any) -> Any:
        node = manager.least_loaded_node()
        conn = await manager.get_connection(node)
        if api_key not in conn.broker_version_data.api_versions:
            return None
        answers = await gather(manager, [(0, request, node)], cluster.timeout_s)
        return answers[0]

    answer = run(cluster, what, send)
    if answer is None:
        raise Refused(f"Could not {what}: {unserved}")
    if isinstance(answer, BaseException):
        raise ClusterError(f"Could not {what}: {readable(answer)}")
    return answer


def reason(item: Any) -> str:
    """Kafka's message for an error answer, or its error's name when it sent none."""
    from kafka import errors as kp_errors

    return item.error_message or kp_errors.for_code(item.error_code).__name__
