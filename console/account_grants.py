"""Which ACLs a team's service account gets: the plan, from the team's prefix and the
access chosen, and whether an extra right stays inside the team's prefix.

Owns the rules only: READ on the team's topic prefix and group prefix for "read", WRITE
on the topic prefix for "write" (Kafka's WRITE implies DESCRIBE, and IDEMPOTENT_WRITE
since KIP-679), both for "both". A team's groups share its topic prefix. Pure: it must
never call a cluster nor touch the database.
"""

from __future__ import annotations

from console.kafka.acls import Acl

READ, WRITE, BOTH = "read", "write", "both"


def _acl(principal: str, resource_type: str, pattern: str, name: str, operation: str) -> Acl:
    return Acl(resource_type, name, pattern, principal, "*", operation, "ALLOW")


def grants(principal: str, resource_type: str, pattern: str, name: str, access: str) -> list[Acl]:
    """The ACLs giving `principal` `access` to the named topics, or to the named groups
    (a group is only ever read: consuming in it and committing its offsets)."""
    if resource_type == "GROUP":
        return [_acl(principal, "GROUP", pattern, name, "READ")]
    operations = {READ: ["READ"], WRITE: ["WRITE"], BOTH: ["READ", "WRITE"]}[access]
    return [_acl(principal, "TOPIC", pattern, name, op) for op in operations]


def team_grants(principal: str, prefix: str, access: str) -> list[Acl]:
    """Everything a new account of the team with `prefix` gets at once."""
    topics = grants(principal, "TOPIC", "PREFIXED", prefix, access)
    groups = [] if access == WRITE else grants(principal, "GROUP", "PREFIXED", prefix, access)
    return topics + groups


def inside_prefix(prefix: str, name: str) -> bool:
    """A literal name or a prefix stays inside the team's when it starts with it (a
    shorter prefix, or `*`, would reach other teams' resources)."""
    return bool(prefix) and name.startswith(prefix)
