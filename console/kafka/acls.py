"""A cluster's ACLs: list (with filters), create, delete — CreateAcls and DeleteAcls
through the cluster's AdminClient, DescribeAcls through `console.kafka.acl_reads`.

Owns the calls; `Acl` lives in `console.kafka.acl_model`. After a change it waits until the cluster lists it (Kafka applies ACLs through its
metadata log, a moment later), so the next page shows it. It must never decide who may
change ACLs (the views ask `console.permissions`) nor touch anything but ACLs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from confluent_kafka.admin import (
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
)

from console.kafka import acl_reads, clients, cluster_rights
from console.kafka.acl_model import (
    CLUSTER_RESOURCE,
    OPERATIONS,
    PATTERN_TYPES,
    PERMISSIONS,
    RESOURCE_TYPES,
    Acl,
    from_binding,
    is_valid,
)
from console.kafka.config import ClusterConfig
from console.kafka.errors import ClusterError, answer, refusal
from console.kafka.settle import until_shown


def for_principal(principal: str) -> AclBindingFilter:
    """Every ACL naming `principal` (a service account's, before it is deleted)."""
    return _any_filter(ResourceType.ANY, None, principal)


def _any_filter(restype: ResourceType, name: str | None, principal: str | None) -> Any:
    # None means "any" for the name, principal and host (the stubs say str only).
    return AclBindingFilter(
        restype,
        name,  # type: ignore[arg-type]
        ResourcePatternType.ANY,
        principal,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        AclOperation.ANY,
        AclPermissionType.ANY,
    )


def list_acls(
    cluster: ClusterConfig,
    resource_type: str = "",
    resource_name: str = "",
    principal: str = "",
) -> list[Acl]:
    """Every ACL matching the filters (empty = any), sorted. A name filter matches the
    resource exactly, as `kafka-acls.sh --list --topic NAME` without `--resource-pattern-type`
    matches literal and prefixed bindings of that exact name."""
    cluster_rights.require(cluster, "DESCRIBE", "list the ACLs")
    return _describe(cluster, resource_type, resource_name, principal)


def _describe(
    cluster: ClusterConfig, resource_type: str = "", resource_name: str = "", principal: str = ""
) -> list[Acl]:
    try:
        return acl_reads.describe(cluster, resource_type, resource_name, principal)
    except ClusterError:
        raise
    except Exception as exc:
        raise refusal(exc, "list the ACLs", "DESCRIBE", "the cluster") from exc


def create_acls(cluster: ClusterConfig, wanted: Iterable[Acl]) -> None:
    """Create every binding; returns once the cluster lists them all."""
    todo = list(wanted)
    if not todo:
        return
    cluster_rights.require(cluster, "ALTER", "create ACLs")
    admin = clients.of(cluster).admin()
    futures = admin.create_acls([a.binding() for a in todo], request_timeout=cluster.timeout_s)
    for acl, future in zip(todo, futures.values(), strict=True):
        answer(
            cluster.timeout_s, future, f"create the ACL {acl.describe()}", "ALTER", "the cluster"
        )
    _await_listing(cluster, todo, present=True)


def delete_acls(cluster: ClusterConfig, gone: Iterable[Acl]) -> list[Acl]:
    """Delete exactly these bindings; returns what the cluster deleted."""
    todo = list(gone)
    if not todo:
        return []
    return _delete(cluster, [a.exact_filter() for a in todo], todo)


def delete_acls_of(cluster: ClusterConfig, principal: str) -> list[Acl]:
    """Delete every ACL naming `principal`; returns what was deleted."""
    return _delete(cluster, [for_principal(principal)], [])


def _delete(cluster: ClusterConfig, filters: list[AclBindingFilter], known: list[Acl]) -> list[Acl]:
    cluster_rights.require(cluster, "ALTER", "delete ACLs")
    admin = clients.of(cluster).admin()
    futures = admin.delete_acls(filters, request_timeout=cluster.timeout_s)
    deleted: list[Acl] = []
    for future in futures.values():
        found = answer(cluster.timeout_s, future, "delete ACLs", "ALTER", "the cluster")
        deleted += [from_binding(b) for b in found]
    _await_listing(cluster, known or deleted, present=False)
    return sorted(deleted)


def _await_listing(cluster: ClusterConfig, acls: list[Acl], present: bool) -> None:
    """Poll DescribeAcls until `acls` are (or are no longer) listed, within the timeout."""
    principals = {a.principal for a in acls}

    def shown() -> bool:
        listed: set[Acl] = set()
        for principal in principals:
            listed |= set(_describe(cluster, principal=principal))
        return all((a in listed) == present for a in acls)

    until_shown(
        cluster.timeout_s,
        shown,
        "The cluster accepted the ACL change but does not list it yet; reload in a moment.",
    )


__all__ = [
    "CLUSTER_RESOURCE",
    "OPERATIONS",
    "PATTERN_TYPES",
    "PERMISSIONS",
    "RESOURCE_TYPES",
    "Acl",
    "ClusterError",
    "create_acls",
    "delete_acls",
    "delete_acls_of",
    "is_valid",
    "list_acls",
]
