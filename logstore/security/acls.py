"""ACL bindings, the filters that select them, and their durable store.

Owns Kafka's ACL vocabulary (resource types, pattern types, operations, permissions, with
Kafka's wire codes), the binding and filter values, filter matching as Kafka defines it
(ANY and MATCH), and `AclStore`: the set of bindings written atomically as one JSON file in
`LogManager.state_dir("acls")` and reloaded on start. It must never decide whether a
request is allowed (that is `logstore.security.authorizer`) nor know about the network.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from logstore.durable import write_atomic

STATE_NAME = "acls"
STATE_FILE = "acls.json"
WILDCARD = "*"
WILDCARD_PRINCIPAL = "User:*"


class ResourceType(IntEnum):
    UNKNOWN = 0
    ANY = 1
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5
    DELEGATION_TOKEN = 6
    USER = 7


class PatternType(IntEnum):
    UNKNOWN = 0
    ANY = 1
    MATCH = 2
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    UNKNOWN = 0
    ANY = 1
    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12
    CREATE_TOKENS = 13
    DESCRIBE_TOKENS = 14


class Permission(IntEnum):
    UNKNOWN = 0
    ANY = 1
    DENY = 2
    ALLOW = 3


CLUSTER_NAME = "kafka-cluster"


@dataclass(frozen=True, slots=True)
class AclBinding:
    """One ACL: who (principal, host) may or may not do what to which resources."""

    resource_type: ResourceType
    resource_name: str
    pattern_type: PatternType
    principal: str
    host: str
    operation: Operation
    permission: Permission


@dataclass(frozen=True, slots=True)
class AclFilter:
    """A DescribeAcls/DeleteAcls filter: None (null on the wire) and ANY match everything."""

    resource_type: ResourceType
    resource_name: str | None
    pattern_type: PatternType
    principal: str | None
    host: str | None
    operation: Operation
    permission: Permission

    def matches(self, acl: AclBinding) -> bool:
        if self.resource_type not in (ResourceType.ANY, acl.resource_type):
            return False
        if not self._pattern_matches(acl):
            return False
        if self.principal is not None and self.principal != acl.principal:
            return False
        if self.host is not None and self.host != acl.host:
            return False
        if self.operation not in (Operation.ANY, acl.operation):
            return False
        return self.permission in (Permission.ANY, acl.permission)

    def _pattern_matches(self, acl: AclBinding) -> bool:
        if self.pattern_type == PatternType.MATCH:
            # Every binding that would apply to the named resource.
            if self.resource_name is None:
                return acl.pattern_type in (PatternType.LITERAL, PatternType.PREFIXED)
            if acl.pattern_type == PatternType.LITERAL:
                return acl.resource_name in (self.resource_name, WILDCARD)
            if acl.pattern_type == PatternType.PREFIXED:
                return self.resource_name.startswith(acl.resource_name)
            return False
        if self.pattern_type not in (PatternType.ANY, acl.pattern_type):
            return False
        return self.resource_name is None or self.resource_name == acl.resource_name


def _to_json(acl: AclBinding) -> dict[str, object]:
    return {k: int(v) if isinstance(v, IntEnum) else v for k, v in asdict(acl).items()}


def _from_json(row: dict[str, Any]) -> AclBinding:
    return AclBinding(
        ResourceType(row["resource_type"]),
        str(row["resource_name"]),
        PatternType(row["pattern_type"]),
        str(row["principal"]),
        str(row["host"]),
        Operation(row["operation"]),
        Permission(row["permission"]),
    )


class AclStore:
    """Every ACL binding, saved atomically on each change; `version` grows with each one
    (the authorizer's cache key). A change is written before it is in force: if the disk
    refuses it (OSError), nothing changed. `add` and `remove` block on the disk, so the
    broker runs them in a thread; the lock keeps two changes from each writing a copy
    that lacks the other's."""

    def __init__(self, directory: Path) -> None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        self._path = Path(directory) / STATE_FILE
        self._acls: dict[AclBinding, None] = {}
        self.version = 0
        self._lock = threading.Lock()
        if self._path.exists():
            rows = json.loads(self._path.read_bytes())
            self._acls = dict.fromkeys(_from_json(r) for r in rows)

    def all(self) -> list[AclBinding]:
        return list(self._acls)

    def add(self, acls: Iterable[AclBinding]) -> None:
        """Add bindings (already present ones are kept once) and save."""
        with self._lock:
            updated = dict(self._acls)
            updated.update(dict.fromkeys(acls))
            self._save(updated)

    def remove(self, acls: Iterable[AclBinding]) -> None:
        with self._lock:
            updated = dict(self._acls)
            for acl in acls:
                updated.pop(acl, None)
            self._save(updated)

    def _save(self, acls: dict[AclBinding, None]) -> None:
        data = json.dumps([_to_json(a) for a in acls], indent=1).encode()
        write_atomic(self._path, data)
        # The bindings before the version: a reader that sees the new version sees them.
        self._acls = acls
        self.version += 1
