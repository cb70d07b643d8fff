"""Which client quota entities and values Kafka's controller accepts, with its messages.

Owns the checks of one AlterClientQuotas entry (entity types, their combination, each key
and value) and Java's HashMap iteration order, which decides which fault Kafka names first
and how it prints an entity. It must never store anything or resolve a host name itself:
the caller passes whether an ip entity resolves.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TypeVar

from logstore.error_codes import INVALID_REQUEST

USER, CLIENT_ID, IP = "user", "client-id", "ip"
LONG, INT, DOUBLE = "LONG", "INT", "DOUBLE"
# Kafka's QuotaConfig: the keys each kind of entity takes, and their types.
USER_AND_CLIENT_KEYS = {
    "producer_byte_rate": LONG,
    "consumer_byte_rate": LONG,
    "request_percentage": DOUBLE,
    "controller_mutation_rate": DOUBLE,
}
IP_KEYS = {"connection_creation_rate": INT}
_LIMITS = {LONG: (2.0**63, "a LONG"), INT: (2.0**31 - 1, "an INT")}

Entity = tuple[tuple[str, str | None], ...]
Problem = tuple[int, str]
V = TypeVar("V")


def _java_hash(text: str) -> int:
    data = text.encode("utf-16-be")
    h = 0
    for i in range(0, len(data), 2):
        h = (31 * h + (data[i] << 8 | data[i + 1])) & 0xFFFFFFFF
    return h


def java_order(pairs: Iterable[tuple[str, V]]) -> tuple[tuple[str, V], ...]:
    """The pairs as a java.util.HashMap built from them iterates them: a key given twice
    keeps its first place and its last value."""
    values: dict[str, V] = {}
    given: list[str] = []
    count = 0
    for key, value in pairs:
        count += 1
        if key not in values:
            given.append(key)
        values[key] = value
    # new HashMap<>(count): the table starts at the power of two >= count and doubles
    # whenever it is more than three quarters full.
    capacity = 1
    while capacity < count:
        capacity *= 2
    for size in range(1, len(given) + 1):
        if size > capacity * 0.75:
            capacity *= 2

    def bucket(key: str) -> int:
        h = _java_hash(key)
        return (h ^ (h >> 16)) & (capacity - 1)

    ordered = sorted(range(len(given)), key=lambda i: (bucket(given[i]), i))
    return tuple((given[i], values[given[i]]) for i in ordered)


def shown(entity: Entity) -> str:
    """How Kafka prints a ClientQuotaEntity in its messages."""
    inner = ", ".join(f"{k}={'null' if v is None else v}" for k, v in entity)
    return f"ClientQuotaEntity(entries={{{inner}}})"


def entity_problem(entity: Entity, ip_resolves: bool) -> Problem | None:
    """Kafka's validateEntity and configKeysForEntityType, in its order."""
    if not entity:
        return (INVALID_REQUEST, "Invalid empty client quota entity")
    for kind, name in entity:
        if kind not in (USER, CLIENT_ID, IP):
            return (INVALID_REQUEST, f"Unhandled client quota entity type: {kind}")
        if name == "":
            return (INVALID_REQUEST, f"Empty {kind} not supported")
    kinds = {kind for kind, _ in entity}
    if IP in kinds:
        if kinds & {USER, CLIENT_ID}:
            # (Kafka's message lacks the space.)
            return (
                INVALID_REQUEST,
                "Invalid quota entity combination, IP entity shouldnot be combined with "
                "User or ClientId",
            )
        if not ip_resolves:
            return (INVALID_REQUEST, f"{dict(entity)[IP]} is not a valid IP or resolvable host.")
    return None


def keys_for(entity: Entity) -> dict[str, str]:
    return IP_KEYS if any(kind == IP for kind, _ in entity) else USER_AND_CLIENT_KEYS


def value_problem(keys: dict[str, str], key: str, value: float) -> Problem | None:
    """Kafka's validateQuotaKeyValue, in its order."""
    kind = keys.get(key)
    if kind is None:
        return (INVALID_REQUEST, f"Invalid configuration key {key}")
    if not math.isfinite(value):
        return (INVALID_REQUEST, f"Quota {key} must be a finite number")
    if value <= 0.0:
        return (INVALID_REQUEST, f"Quota {key} must be greater than 0")
    if kind == DOUBLE:
        return None
    limit, name = _LIMITS[kind]
    if value > limit:  # (Java compares with the limit as a double: 2**63 passes)
        return (INVALID_REQUEST, f"Proposed value for {key} is too large for {name}.")
    if abs(math.fmod(value, 1.0)) > 1e-6:
        return (INVALID_REQUEST, f"{key} cannot be a fractional value.")
    return None
