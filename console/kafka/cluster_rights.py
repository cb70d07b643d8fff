"""What the console's own principal may do on the cluster resource, asked before calls
librdkafka cannot be trusted to survive a refusal of.

Owns one check, `require(cluster, operation, what)`: DescribeCluster with the authorized
operations, then `NotAuthorized` when `operation` is missing. librdkafka 2.16 mishandles
CLUSTER_AUTHORIZATION_FAILED on the security calls: DescribeUserScramCredentials aborts
the whole process (not an exception) and DescribeAcls answers an empty list, so those
calls never reach a cluster that would refuse them. librdkafka reports "no operation at
all" as None; a cluster without DescribeCluster passes. It must never decide what the
console's users may do (that is `console.permissions`).
"""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AclOperation

from console.kafka import acl_reads, clients
from console.kafka.config import ClusterConfig
from console.kafka.errors import (
    ClusterError,
    NotAuthorized,
    authorization_failure,
    refusal,
    security_disabled,
)


def operations(cluster: ClusterConfig) -> set[str] | None:
    """The operations the console may do on the cluster resource; None when the cluster
    cannot say (no DescribeCluster)."""
    admin = clients.of(cluster).admin()
    future = admin.describe_cluster(
        include_authorized_operations=True, request_timeout=cluster.timeout_s
    )
    try:
        found: Any = future.result(timeout=cluster.timeout_s + 1)
    except Exception as exc:
        if isinstance(exc, KafkaException) and _unsupported(exc):
            return None
        raise refusal(exc, "describe the cluster", "DESCRIBE", "the cluster") from exc
    return {AclOperation(op).name for op in getattr(found, "authorized_operations", None) or ()}


def _unsupported(exc: KafkaException) -> bool:
    err = exc.args[0] if exc.args else None
    return isinstance(err, KafkaError) and err.code() == KafkaError._UNSUPPORTED_FEATURE


def require(cluster: ClusterConfig, operation: str, what: str) -> None:
    """Raise `NotAuthorized` unless the console may do `operation` on the cluster."""
    allowed = operations(cluster)
    if allowed is None or allowed & {operation, "ALL"}:
        return
    if not allowed and not _has_authorizer(cluster):
        return  # no authorizer, so nothing is refused (the bundled broker lists no operation)
    raise NotAuthorized(operation, "the cluster", what)


def _has_authorizer(cluster: ClusterConfig) -> bool:
    """DescribeAcls tells: SECURITY_DISABLED without an authorizer, a refusal or a list
    with one."""
    try:
        acl_reads.describe(cluster, "CLUSTER")
    except Exception as exc:
        if security_disabled(exc):
            return False
        if authorization_failure(exc) is not None:
            return True
        if isinstance(exc, ClusterError):
            raise
        raise refusal(exc, "list the ACLs", "DESCRIBE", "the cluster") from exc
    return True
