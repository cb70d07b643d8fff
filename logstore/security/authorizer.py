"""The authorizer: may this principal, from this host, do this operation on this resource?

Owns Kafka's decision rules (those of `StandardAuthorizer`): super users may do anything;
a matching DENY binding wins over any ALLOW; ALLOW of READ, WRITE, DELETE or ALTER implies
DESCRIBE and ALLOW of ALTER_CONFIGS implies DESCRIBE_CONFIGS; ALL covers every operation;
bindings apply to their literal name, to `*`, or to every name starting with a prefix, and
to their principal or `User:*`, their host or `*`; a resource no binding names at all is
allowed only with `allow.everyone.if.no.acl.found`. Decisions are cached until the ACLs
change, so per-partition checks on Produce and Fetch cost a dict lookup. It must never
store ACLs itself (that is `logstore.security.acls`) nor know about the wire.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from logstore.security.acls import (
    WILDCARD,
    WILDCARD_PRINCIPAL,
    AclBinding,
    AclStore,
    Operation,
    PatternType,
    Permission,
    ResourceType,
)

# Class names Kafka users put in `authorizer.class.name`: either turns checks on.
AUTHORIZER_CLASSES = frozenset(
    {
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "kafka.security.authorizer.AclAuthorizer",
    }
)

_IMPLIES_DESCRIBE = frozenset(
    {Operation.READ, Operation.WRITE, Operation.DELETE, Operation.ALTER, Operation.DESCRIBE}
)
_IMPLIES_DESCRIBE_CONFIGS = frozenset({Operation.ALTER_CONFIGS, Operation.DESCRIBE_CONFIGS})

# The operations each resource type has (Kafka's authorized-operations bitfields list them).
OPERATIONS: dict[ResourceType, tuple[Operation, ...]] = {
    ResourceType.TOPIC: (
        Operation.READ,
        Operation.WRITE,
        Operation.CREATE,
        Operation.DELETE,
        Operation.ALTER,
        Operation.DESCRIBE,
        Operation.DESCRIBE_CONFIGS,
        Operation.ALTER_CONFIGS,
    ),
    ResourceType.GROUP: (Operation.READ, Operation.DELETE, Operation.DESCRIBE),
    ResourceType.CLUSTER: (
        Operation.CREATE,
        Operation.ALTER,
        Operation.DESCRIBE,
        Operation.CLUSTER_ACTION,
        Operation.DESCRIBE_CONFIGS,
        Operation.ALTER_CONFIGS,
        Operation.IDEMPOTENT_WRITE,
    ),
    ResourceType.TRANSACTIONAL_ID: (Operation.DESCRIBE, Operation.WRITE),
}

_CACHE_LIMIT = 100_000
_Key = tuple[str, str, Operation, ResourceType, str]


def _grants(acl_op: Operation, wanted: Operation) -> bool:
    if acl_op in (Operation.ALL, wanted):
        return True
    if wanted == Operation.DESCRIBE:
        return acl_op in _IMPLIES_DESCRIBE
    return wanted == Operation.DESCRIBE_CONFIGS and acl_op in _IMPLIES_DESCRIBE_CONFIGS


class Authorizer:
    """Decisions over an `AclStore`, with the broker's super users and no-ACL default."""

    def __init__(
        self, store: AclStore, super_users: Iterable[str], allow_if_no_acl: bool = False
    ) -> None:
        self.store = store
        self.super_users = frozenset(super_users)
        self.allow_if_no_acl = allow_if_no_acl
        self._cache: dict[_Key, bool] = {}
        self._cache_version = -1
        # (resource type, name, pattern) -> bindings: a decision looks up the resource's
        # literal name, `*`, and each prefix of the name, never scans every binding.
        self._index: dict[tuple[ResourceType, str, PatternType], list[AclBinding]] = {}
        self._refresh()

    @classmethod
    def open(
        cls, directory: Path, super_users: Iterable[str], allow_if_no_acl: bool = False
    ) -> Authorizer:
        return cls(AclStore(directory), super_users, allow_if_no_acl)

    def authorize(
        self,
        principal: str,
        host: str,
        operation: Operation,
        resource_type: ResourceType,
        name: str,
    ) -> bool:
        if self._cache_version != self.store.version:
            self._refresh()
        key = (principal, host, operation, resource_type, name)
        decision = self._cache.get(key)
        if decision is None:
            decision = self._decide(principal, host, operation, resource_type, name)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = decision
        return decision

    def _refresh(self) -> None:
        self._cache.clear()
        self._index = {}
        for acl in self.store.all():
            key = (acl.resource_type, acl.resource_name, acl.pattern_type)
            self._index.setdefault(key, []).append(acl)
        self._cache_version = self.store.version

    def _candidates(self, resource_type: ResourceType, name: str) -> list[AclBinding]:
        """The bindings that apply to the resource: its name, `*`, every prefix of it."""
        index = self._index
        found = list(index.get((resource_type, name, PatternType.LITERAL), ()))
        if name != WILDCARD:
            found += index.get((resource_type, WILDCARD, PatternType.LITERAL), ())
        for end in range(1, len(name) + 1):
            found += index.get((resource_type, name[:end], PatternType.PREFIXED), ())
        return found

    def _decide(
        self,
        principal: str,
        host: str,
        operation: Operation,
        resource_type: ResourceType,
        name: str,
    ) -> bool:
        if principal in self.super_users:
            return True
        if self._cache_version != self.store.version:
            self._refresh()
        candidates = self._candidates(resource_type, name)
        found = bool(candidates)
        allowed = False
        for acl in candidates:
            if acl.principal not in (principal, WILDCARD_PRINCIPAL):
                continue
            if acl.host not in (host, WILDCARD):
                continue
            if acl.permission == Permission.DENY:
                if acl.operation in (Operation.ALL, operation):
                    return False
            elif _grants(acl.operation, operation):
                allowed = True
        return allowed if found else self.allow_if_no_acl

    def allows_any(
        self, principal: str, host: str, operation: Operation, resource_type: ResourceType
    ) -> bool:
        """Whether some resource of the type may be used so (Kafka's authorizeByResourceType,
        simplified: an ALLOW binding for the principal that no DENY of the same pattern
        cancels, or no binding of the type at all with allow.everyone.if.no.acl.found)."""
        if principal in self.super_users:
            return True
        acls = [a for a in self.store.all() if a.resource_type == resource_type]
        if not acls:
            return self.allow_if_no_acl
        mine = [
            a
            for a in acls
            if a.principal in (principal, WILDCARD_PRINCIPAL) and a.host in (host, WILDCARD)
        ]
        denied = {
            (a.resource_name, a.pattern_type)
            for a in mine
            if a.permission == Permission.DENY and a.operation in (Operation.ALL, operation)
        }
        return any(
            a.permission == Permission.ALLOW
            and _grants(a.operation, operation)
            and (a.resource_name, a.pattern_type) not in denied
            for a in mine
        )

    def authorized_operations(
        self, principal: str, host: str, resource_type: ResourceType, name: str
    ) -> int:
        """Kafka's authorized-operations bitfield: bit N set when operation N is allowed."""
        bits = 0
        for operation in OPERATIONS.get(resource_type, ()):
            if self.authorize(principal, host, operation, resource_type, name):
                bits |= 1 << operation
        return bits
