"""An ACL binding as the console knows it, and its translation to confluent-kafka's enums.

Owns `Acl` (resource type, name, pattern type, principal, host, operation, permission,
each in Kafka's words) and the name <-> enum tables. Plain data: it must never call a
cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
)

# Kafka calls it CLUSTER; librdkafka calls the same resource type (code 4) BROKER.
RESOURCE_TYPES = {
    "TOPIC": ResourceType.TOPIC,
    "GROUP": ResourceType.GROUP,
    "CLUSTER": ResourceType.BROKER,
    "TRANSACTIONAL_ID": ResourceType.TRANSACTIONAL_ID,
}
PATTERN_TYPES = {"LITERAL": ResourcePatternType.LITERAL, "PREFIXED": ResourcePatternType.PREFIXED}
OPERATIONS = {
    op.name: op for op in AclOperation if op not in (AclOperation.UNKNOWN, AclOperation.ANY)
}
PERMISSIONS = {"ALLOW": AclPermissionType.ALLOW, "DENY": AclPermissionType.DENY}
CLUSTER_RESOURCE = "kafka-cluster"


@dataclass(frozen=True, order=True)
class Acl:
    """One ACL binding; every field is Kafka's name ("TOPIC", "PREFIXED", "READ", ...)."""

    resource_type: str
    resource_name: str
    pattern_type: str
    principal: str
    host: str
    operation: str
    permission: str

    def _parts(self) -> tuple[Any, ...]:
        return (
            RESOURCE_TYPES[self.resource_type],
            self.resource_name,
            PATTERN_TYPES[self.pattern_type],
            self.principal,
            self.host,
            OPERATIONS[self.operation],
            PERMISSIONS[self.permission],
        )

    def binding(self) -> AclBinding:
        return AclBinding(*self._parts())

    def exact_filter(self) -> AclBindingFilter:
        return AclBindingFilter(*self._parts())

    def describe(self) -> str:
        """One line for messages and the audit trail."""
        return (
            f"{self.permission} {self.principal} {self.operation} on {self.resource_type} "
            f"{self.pattern_type.lower()} {self.resource_name!r} from host {self.host}"
        )


def is_valid(acl: Acl) -> bool:
    """Every field present and each enum field one Kafka knows."""
    return (
        all(vars(acl).values())
        and acl.resource_type in RESOURCE_TYPES
        and acl.pattern_type in PATTERN_TYPES
        and acl.operation in OPERATIONS
        and acl.permission in PERMISSIONS
    )


def _type_name(restype: ResourceType) -> str:
    return "CLUSTER" if restype == ResourceType.BROKER else restype.name


def from_binding(b: AclBinding) -> Acl:
    return Acl(
        resource_type=_type_name(ResourceType(b.restype)),
        resource_name=b.name,
        pattern_type=ResourcePatternType(b.resource_pattern_type).name,
        principal=b.principal,
        host=b.host,
        operation=AclOperation(b.operation).name,
        permission=AclPermissionType(b.permission_type).name,
    )
