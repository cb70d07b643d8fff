"""The authorizer's decisions (Kafka's StandardAuthorizer rules) over a real store on disk."""

from __future__ import annotations

from pathlib import Path

from logstore.security.acls import (
    AclBinding,
    AclFilter,
    AclStore,
    Operation,
    PatternType,
    Permission,
    ResourceType,
)
from logstore.security.authorizer import Authorizer

TOPIC, GROUP, CLUSTER = ResourceType.TOPIC, ResourceType.GROUP, ResourceType.CLUSTER
LIT, PRE = PatternType.LITERAL, PatternType.PREFIXED
ALLOW, DENY = Permission.ALLOW, Permission.DENY
ALICE, BOB = "User:alice", "User:bob"


def acl(
    rtype: ResourceType,
    name: str,
    op: Operation,
    perm: Permission = ALLOW,
    *,
    pattern: PatternType = LIT,
    principal: str = ALICE,
    host: str = "*",
) -> AclBinding:
    return AclBinding(rtype, name, pattern, principal, host, op, perm)


def authorizer(tmp_path: Path, *acls: AclBinding, **kw: object) -> Authorizer:
    auth = Authorizer.open(tmp_path, kw.pop("super_users", ()), **kw)  # type: ignore[arg-type]
    if acls:
        auth.store.add(acls)
    return auth


def can(
    auth: Authorizer, op: Operation, name: str, principal: str = ALICE, host: str = "h1"
) -> bool:
    return auth.authorize(principal, host, op, TOPIC, name)


def test_no_acl_found_follows_the_setting(tmp_path: Path) -> None:
    assert not can(authorizer(tmp_path / "a"), Operation.READ, "t")
    assert can(authorizer(tmp_path / "b", allow_if_no_acl=True), Operation.READ, "t")
    # An ACL naming the resource for someone else counts as "found": bob is refused.
    auth = authorizer(tmp_path / "c", acl(TOPIC, "t", Operation.READ), allow_if_no_acl=True)
    assert can(auth, Operation.READ, "t")
    assert not can(auth, Operation.READ, "t", principal=BOB)
    assert can(auth, Operation.READ, "other", principal=BOB)


def test_prefixed_literal_and_wildcard_names(tmp_path: Path) -> None:
    auth = authorizer(
        tmp_path,
        acl(TOPIC, "team-", Operation.WRITE, pattern=PRE),
        acl(TOPIC, "*", Operation.READ, principal=BOB),
        acl(TOPIC, "exact", Operation.DELETE),
    )
    assert can(auth, Operation.WRITE, "team-a")
    assert not can(auth, Operation.WRITE, "tea")
    assert can(auth, Operation.READ, "anything", principal=BOB)
    assert not can(auth, Operation.READ, "team-a")
    assert can(auth, Operation.DELETE, "exact")
    assert not can(auth, Operation.DELETE, "exactly")


def test_deny_wins_and_implied_operations(tmp_path: Path) -> None:
    auth = authorizer(
        tmp_path,
        acl(TOPIC, "t", Operation.ALL),
        acl(TOPIC, "t", Operation.WRITE, DENY),
        acl(TOPIC, "r", Operation.READ),
        acl(TOPIC, "c", Operation.ALTER_CONFIGS),
    )
    assert can(auth, Operation.READ, "t")
    assert not can(auth, Operation.WRITE, "t")
    # READ implies DESCRIBE, ALTER_CONFIGS implies DESCRIBE_CONFIGS; not the other way.
    assert can(auth, Operation.DESCRIBE, "r")
    assert not can(auth, Operation.WRITE, "r")
    assert can(auth, Operation.DESCRIBE_CONFIGS, "c")
    assert not can(auth, Operation.DESCRIBE, "c")


def test_deny_read_does_not_deny_describe(tmp_path: Path) -> None:
    auth = authorizer(
        tmp_path, acl(TOPIC, "t", Operation.ALL), acl(TOPIC, "t", Operation.READ, DENY)
    )
    assert not can(auth, Operation.READ, "t")
    assert can(auth, Operation.DESCRIBE, "t")


def test_wildcard_principal_hosts_and_super_users(tmp_path: Path) -> None:
    auth = authorizer(
        tmp_path,
        acl(TOPIC, "t", Operation.READ, principal="User:*"),
        acl(TOPIC, "t", Operation.READ, DENY, principal=BOB, host="h2"),
        super_users=("User:root",),
    )
    assert can(auth, Operation.READ, "t", principal=BOB, host="h1")
    assert not can(auth, Operation.READ, "t", principal=BOB, host="h2")
    assert can(auth, Operation.WRITE, "t", principal="User:root")
    assert not can(auth, Operation.WRITE, "t")


def test_resource_types_are_separate(tmp_path: Path) -> None:
    auth = authorizer(tmp_path, acl(GROUP, "g", Operation.READ))
    assert auth.authorize(ALICE, "h", Operation.READ, GROUP, "g")
    assert not auth.authorize(ALICE, "h", Operation.READ, TOPIC, "g")
    assert not auth.authorize(ALICE, "h", Operation.CREATE, CLUSTER, "kafka-cluster")


def test_authorized_operations_bitfield(tmp_path: Path) -> None:
    auth = authorizer(tmp_path, acl(TOPIC, "t", Operation.READ))
    bits = auth.authorized_operations(ALICE, "h", TOPIC, "t")
    assert bits == (1 << Operation.READ) | (1 << Operation.DESCRIBE)


def test_decisions_follow_changes_and_survive_reopening(tmp_path: Path) -> None:
    auth = authorizer(tmp_path)
    assert not can(auth, Operation.READ, "t")  # cached as refused
    grant = acl(TOPIC, "t", Operation.READ)
    auth.store.add([grant])
    assert can(auth, Operation.READ, "t")
    reopened = Authorizer(AclStore(tmp_path), ())
    assert reopened.store.all() == [grant]
    assert can(reopened, Operation.READ, "t")
    reopened.store.remove([grant])
    assert not can(reopened, Operation.READ, "t")
    assert AclStore(tmp_path).all() == []


def test_filters_any_and_match(tmp_path: Path) -> None:
    prefixed = acl(TOPIC, "team-", Operation.READ, pattern=PRE)
    literal = acl(TOPIC, "team-a", Operation.WRITE)
    wildcard = acl(TOPIC, "*", Operation.READ, principal=BOB)
    other = acl(GROUP, "team-a", Operation.READ)
    everything = [prefixed, literal, wildcard, other]

    def select(f: AclFilter) -> list[AclBinding]:
        return [a for a in everything if f.matches(a)]

    any_op, any_perm = Operation.ANY, Permission.ANY
    match = AclFilter(TOPIC, "team-a", PatternType.MATCH, None, None, any_op, any_perm)
    assert select(match) == [prefixed, literal, wildcard]
    exact = AclFilter(TOPIC, "team-a", PatternType.ANY, None, None, any_op, any_perm)
    assert select(exact) == [literal]
    by_principal = AclFilter(ResourceType.ANY, None, PatternType.ANY, ALICE, None, any_op, any_perm)
    assert select(by_principal) == [prefixed, literal, other]
    by_pattern = AclFilter(TOPIC, None, PRE, None, None, any_op, any_perm)
    assert select(by_pattern) == [prefixed]


def test_allows_any_resource_of_a_type(tmp_path: Path) -> None:
    # Kafka's idempotent InitProducerId asks: may this principal WRITE to some topic?
    empty = authorizer(tmp_path / "a", allow_if_no_acl=True)
    assert empty.allows_any(ALICE, "h", Operation.WRITE, TOPIC)
    auth = authorizer(
        tmp_path / "b",
        acl(TOPIC, "team-", Operation.WRITE, pattern=PRE),
        acl(TOPIC, "x", Operation.READ, principal=BOB),
        acl(TOPIC, "y", Operation.ALL, principal=BOB),
        acl(TOPIC, "y", Operation.WRITE, DENY, principal=BOB),
    )
    assert auth.allows_any(ALICE, "h", Operation.WRITE, TOPIC)
    assert not auth.allows_any(BOB, "h", Operation.WRITE, TOPIC)
    assert not auth.allows_any(ALICE, "h", Operation.WRITE, GROUP)
