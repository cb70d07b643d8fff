"""A cluster's client quotas: DescribeClientQuotas (48) and AlterClientQuotas (49), sent
raw on kafka-python's network thread, because confluent-kafka's AdminClient has no call
for either.

Owns `QuotaEntry` (an entity — (type, name) pairs, name None for a default — and its
values), listing every quota, changing the keys of one entity, and turning the cluster's
per-entry answer into a `ClusterError` that carries Kafka's own message. After a change it
waits until the cluster describes it (Kafka applies quotas through its metadata log). It
must never decide which keys or values are acceptable (the cluster judges, in Kafka's
words) nor who may call it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from console.kafka import wire
from console.kafka.config import ClusterConfig
from console.kafka.errors import NotAuthorized, Refused
from console.kafka.settle import until_shown

_UNSERVED = (
    "the cluster does not serve client quotas "
    "(DescribeClientQuotas and AlterClientQuotas came with Kafka 2.6)."
)

CLUSTER_AUTHORIZATION_FAILED = 31
# Kafka's entity types, in the order the console names them.
USER, CLIENT_ID, IP = "user", "client-id", "ip"
ENTITY_TYPES = (USER, CLIENT_ID, IP)

Entity = tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class QuotaEntry:
    entity: Entity
    values: Mapping[str, float]


def _rank(kind: str) -> int:
    return ENTITY_TYPES.index(kind) if kind in ENTITY_TYPES else len(ENTITY_TYPES)


def canonical(entity: Entity | list[tuple[str, str | None]]) -> Entity:
    """`entity` in one order (user, client id, ip), whatever order the cluster used."""
    return tuple(sorted(entity, key=lambda part: (_rank(part[0]), part[0])))


def _sort_key(entry: QuotaEntry) -> tuple[Any, ...]:
    # Grouped by kind (users, users with client ids, client ids, ips); a default before
    # the named entities it stands behind.
    return (
        tuple((_rank(kind), kind) for kind, _ in entry.entity),
        tuple((name is not None, name or "") for _, name in entry.entity),
    )


def describe(cluster: ClusterConfig) -> list[QuotaEntry]:
    """Every quota the cluster holds (an empty filter, not strict: every entity)."""
    from kafka.protocol.admin import DescribeClientQuotasRequest

    what = "list the client quotas"
    request = DescribeClientQuotasRequest(components=[], strict=False)
    answer = wire.ask(cluster, request, what, _UNSERVED)
    if answer.error_code == CLUSTER_AUTHORIZATION_FAILED:
        raise NotAuthorized("DESCRIBE_CONFIGS", "the cluster", what)
    if answer.error_code:
        raise Refused(f"Could not {what}: {wire.reason(answer)}")
    entries = [
        QuotaEntry(
            canonical([(e.entity_type, e.entity_name) for e in item.entity]),
            {v.key: float(v.value) for v in item.values},
        )
        for item in answer.entries or ()
    ]
    return sorted(entries, key=_sort_key)


def alter(
    cluster: ClusterConfig,
    entity: Entity,
    changes: Mapping[str, float | None],
    validate_only: bool = False,
) -> None:
    """Set each key of `changes` on `entity` to its value, or remove it where the value is
    None, all in one entry; with `validate_only` the cluster judges without changing
    anything. Raises `Refused` with Kafka's message when the cluster refuses the entry."""
    from kafka.protocol.admin import AlterClientQuotasRequest

    entry_cls = AlterClientQuotasRequest.EntryData
    what = f"change the client quotas of {shown(entity)}"
    request = AlterClientQuotasRequest(
        entries=[
            entry_cls(
                entity=[
                    entry_cls.EntityData(entity_type=kind, entity_name=name)
                    for kind, name in entity
                ],
                ops=[
                    # Kafka ignores the value of a removal; 0.0 is what its admin client sends.
                    entry_cls.OpData(
                        key=key, value=0.0 if value is None else value, remove=value is None
                    )
                    for key, value in changes.items()
                ],
            )
        ],
        validate_only=validate_only,
    )
    answer = wire.ask(cluster, request, what, _UNSERVED)
    for item in answer.entries:
        if item.error_code == CLUSTER_AUTHORIZATION_FAILED:
            raise NotAuthorized("ALTER_CONFIGS", "the cluster", what)
        if item.error_code:
            raise Refused(f"The cluster refused the quota of {shown(entity)}: {wire.reason(item)}")
    if not validate_only:
        _await(cluster, canonical(entity), changes)


def shown(entity: Entity) -> str:
    """The entity as Kafka's tools name it: user=alice, client-id=<default>."""
    return ", ".join(f"{kind}={'<default>' if name is None else name}" for kind, name in entity)


def _await(cluster: ClusterConfig, entity: Entity, changes: Mapping[str, float | None]) -> None:
    def listed() -> bool:
        found = next((e.values for e in describe(cluster) if e.entity == entity), {})
        return all(found.get(key) == value for key, value in changes.items())

    until_shown(
        cluster.timeout_s,
        listed,
        f"The cluster accepted the quota of {shown(entity)} but does not list it "
        "yet; reload in a moment.",
    )
