"""kafka-python's network client, for the reads librdkafka makes expensive or cannot make.

Owns one kafka-python admin client per cluster (its own I/O thread, security settings
included: SASL, TLS) and `run`, which executes a coroutine of protocol requests on that
thread, many requests in flight at once. The console uses it for bulk reads: ListOffsets
for thousands of partitions in one request per leader, DescribeLogDirs (sizes) and
DescribeConfigs naming only the keys wanted. It must never decide what to ask for (that is
`console.kafka.reads`) and never let a client exception escape as anything but
`ClusterError`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from django.conf import settings

from console.kafka.clusters import ClusterConfig
from console.kafka.errors import ClusterError, Unreachable, readable

T = TypeVar("T")

# kafka-python narrates every connection at INFO, warns when decoding a large answer holds
# its loop for 100 ms (expected here), and logs an error every few seconds while a cluster
# is away. The console reports cluster failures itself (banners, form messages); its log
# is for people.
logging.getLogger("kafka").setLevel(logging.CRITICAL)

# Every request of a snapshot is in flight at once (five ListOffsets per leader,
# DescribeLogDirs, DescribeConfigs); the default of five would refuse the rest.
MAX_IN_FLIGHT = 64

# slug -> (the configuration it was made for, client); a changed configuration (an edited
# cluster, a test pointing `local` elsewhere) gets a new client.
_clients: dict[str, tuple[ClusterConfig, Any]] = {}
_lock = threading.Lock()


def timeout_s() -> float:
    return float(settings.ODRADEK_CLUSTER_TIMEOUT)


def bulk_timeout_s() -> float:
    # A cluster that answered Metadata is up; thousands of partitions may take longer than
    # one call's timeout on a busy machine, and a partial answer is worse than a slow one.
    return timeout_s() * 3


def client_config(cluster: ClusterConfig) -> dict[str, Any]:
    """kafka-python settings for `cluster` (the same security as `client_config()`)."""
    conf: dict[str, Any] = {
        "bootstrap_servers": cluster.bootstrap.split(","),
        "security_protocol": cluster.security_protocol,
        "request_timeout_ms": int(bulk_timeout_s() * 1000),
        "bootstrap_timeout_ms": int(timeout_s() * 1000),
        "max_in_flight_requests_per_connection": MAX_IN_FLIGHT,
        "client_id": "odradek-console",
    }
    if cluster.sasl_mechanism:
        conf |= {
            "sasl_mechanism": cluster.sasl_mechanism,
            "sasl_plain_username": cluster.sasl_username,
            "sasl_plain_password": cluster.sasl_password,
        }
    if cluster.ssl_ca_pem:
        conf["ssl_cafile"] = cluster.client_config()["ssl.ca.location"]
    return conf


def client(cluster: ClusterConfig) -> Any:
    """This cluster's kafka-python admin client, connecting on first use."""
    from kafka.admin import KafkaAdminClient

    with _lock:
        found = _clients.get(cluster.slug)
    if found is not None:
        if found[0] == cluster:
            return found[1]
        drop(cluster)
    try:
        made = KafkaAdminClient(**client_config(cluster))
    except Exception as exc:
        raise ClusterError(
            f"Cluster {cluster.slug} ({cluster.bootstrap}) is unreachable: {readable(exc)}"
        ) from exc
    with _lock:
        raced = _clients.get(cluster.slug)
        if raced is not None and raced[0] == cluster:  # another thread connected meanwhile
            _close(made)
            return raced[1]
        _clients[cluster.slug] = (cluster, made)
        return made


def run(cluster: ClusterConfig, what: str, coro: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run `coro(manager, *args)` on the cluster's client thread and return its result.

    Any failure becomes `ClusterError("Could not <what>: ...")`; a client whose
    connection broke is dropped so the next call connects afresh.
    """
    c = client(cluster)
    try:
        return c._manager.run(coro, c._manager, *args)
    except Unreachable as exc:
        drop(cluster)
        raise ClusterError(
            f"Cluster {cluster.slug} ({cluster.bootstrap}) is unreachable: {exc}"
        ) from exc
    except ClusterError:
        raise
    except Exception as exc:
        drop(cluster)
        raise ClusterError(f"Could not {what}: {readable(exc)}") from exc


def drop(cluster: ClusterConfig) -> None:
    """Close and forget the client of `cluster`'s slug (broken, or its settings changed)."""
    with _lock:
        broken = _clients.pop(cluster.slug, None)
    if broken is not None:
        _close(broken[1])


def close_all() -> None:
    """Close every client (tests, between clusters: their background metadata loops
    would otherwise outlive the clusters they watch)."""
    with _lock:
        clients = [c for _, c in _clients.values()]
        _clients.clear()
    for c in clients:
        _close(c)


def _close(c: Any) -> None:
    try:
        c.close()
    except Exception:  # closing a client of a dead cluster may fail; nothing to keep
        pass


async def gather(
    manager: Any, requests: list[tuple[Any, Any, int]], limit_s: float
) -> dict[Any, Any]:
    """Send every (key, request, node_id) at once, then collect {key: response or error}.

    All requests are written before the first answer is awaited, so the cluster works
    on them back to back and the client encodes the next while the cluster answers one.
    """
    futures = [(k, manager.send(request, node_id=node)) for k, request, node in requests]
    out: dict[Any, Any] = {}
    for k, future in futures:
        try:
            out[k] = await manager.wait_for(future, int(limit_s * 1000))
        except Exception as exc:
            out[k] = exc
    return out
