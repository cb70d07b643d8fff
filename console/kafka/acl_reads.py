"""Reading a cluster's ACLs: DescribeAcls through kafka-python's admin client.

Not through confluent-kafka: librdkafka 2.16 drops DescribeAcls' error code and answers an
empty list whether the cluster refused the console (CLUSTER_AUTHORIZATION_FAILED) or has
no authorizer (SECURITY_DISABLED); kafka-python raises both. Owns that one call and the
translation of its answer to `Acl`. It must never change an ACL.
"""

from __future__ import annotations

from typing import Any

from console.kafka import clients
from console.kafka.acl_model import RESOURCE_TYPES, Acl
from console.kafka.config import ClusterConfig


def describe(
    cluster: ClusterConfig, resource_type: str = "", resource_name: str = "", principal: str = ""
) -> list[Acl]:
    """Every ACL matching the filters (empty = any), sorted; raises kafka-python's error
    when the cluster refuses."""
    from kafka.admin import (
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePatternFilter,
        ResourceType,
    )

    wanted = ACLFilter(
        principal=principal or None,
        host=None,
        operation=ACLOperation.ANY,
        permission_type=ACLPermissionType.ANY,
        resource_pattern=ResourcePatternFilter(
            ResourceType[resource_type] if resource_type in RESOURCE_TYPES else ResourceType.ANY,
            resource_name or None,
            ACLResourcePatternType.ANY,
        ),
    )
    found, _ = clients.of(cluster).wire().describe_acls(wanted)
    return sorted(_acl(a) for a in found)


def _acl(found: Any) -> Acl:
    pattern = found.resource_pattern
    return Acl(
        resource_type=pattern.resource_type.name,
        resource_name=pattern.resource_name,
        pattern_type=pattern.pattern_type.name,
        principal=found.principal,
        host=found.host,
        operation=found.operation.name,
        permission=found.permission_type.name,
    )
