"""Kafka's client-quota vocabulary for the Client quotas page: the kinds of entity a quota
is for, the keys each kind takes, one line explaining each term, values in readable units,
and entities named as a person reads them.

Owns what the page and its forms offer and how they show it. Pure: it must never call a
cluster nor touch the database, and never judge a value — the cluster does, in Kafka's
words (a fractional byte rate, a non-positive value, an ip that does not resolve).
"""

from __future__ import annotations

from dataclasses import dataclass

from console.kafka.client_quotas import CLIENT_ID, IP, USER, Entity, QuotaEntry

# Kafka's QuotaConfig: the keys a user or client id takes, and the one an ip takes.
USER_AND_CLIENT_KEYS = (
    "producer_byte_rate",
    "consumer_byte_rate",
    "request_percentage",
    "controller_mutation_rate",
)
IP_KEYS = ("connection_creation_rate",)
BYTE_RATES = ("producer_byte_rate", "consumer_byte_rate")

# The kinds of entity the form offers, as the entity types each one names.
KINDS: dict[str, tuple[str, ...]] = {
    "user": (USER,),
    "client-id": (CLIENT_ID,),
    "user+client-id": (USER, CLIENT_ID),
    "ip": (IP,),
}
KIND_CHOICES = [
    ("user", "user"),
    ("client-id", "client id"),
    ("user+client-id", "user + client id"),
    ("ip", "ip address"),
]
KEY_CHOICES = [
    ("users and client ids", [(k, k) for k in USER_AND_CLIENT_KEYS]),
    ("ip addresses", [(k, k) for k in IP_KEYS]),
]
# How a person calls each entity type, and the form field that holds its name (the
# field `<name>_default` ticks the default instead).
TYPE_LABELS = {USER: "user", CLIENT_ID: "client id", IP: "ip"}
FIELDS = {USER: "user", CLIENT_ID: "client_id", IP: "ip"}

_RATE = "per second, over the quota window (quota.window.num samples of quota.window.size.seconds)"
EXPLAINED = {
    "producer_byte_rate": (
        f"bytes a producer may send {_RATE}; over it, the broker answers with a throttle "
        "time and reads nothing more from the connection until it has passed."
    ),
    "consumer_byte_rate": (
        f"bytes a consumer may fetch {_RATE}; over it, fetches come back empty with a "
        "throttle time."
    ),
    "request_percentage": (
        "share of the broker's request-handling time (network and I/O threads) the clients "
        "may take, in percent of one thread: 200 is two threads' worth."
    ),
    "controller_mutation_rate": (
        "partitions the clients may create or delete per second (CreateTopics, "
        "CreatePartitions, DeleteTopics); over it, Kafka refuses more with "
        "THROTTLING_QUOTA_EXCEEDED (older clients are answered with a wait instead)."
    ),
    "connection_creation_rate": (
        "new connections per second the broker accepts from one ip address; more wait."
    ),
}
TERMS = [
    (
        "Entity",
        "who a quota is for: a user (the principal a client logs in as over SASL or TLS), a "
        "client id (the client.id a client sets), a user and client id together, or an ip "
        "address (connections only). Every connection of one entity shares its quota.",
    ),
    (
        "Default",
        "(default user) or (default client id) applies to each user or client id that has no "
        "quota of its own, to each one separately.",
    ),
    (
        "Which applies",
        "the most specific one: user + client id, user + (default client id), user, "
        "(default user) + client id, (default user) + (default client id), (default user), "
        "client id, (default client id).",
    ),
    *EXPLAINED.items(),
]


def keys_for(kind: str) -> tuple[str, ...]:
    """The keys an entity of form kind `kind` takes."""
    return IP_KEYS if IP in KINDS.get(kind, ()) else USER_AND_CLIENT_KEYS


def kind_of(entity: Entity) -> str:
    """The form kind naming `entity`'s types ("" for a combination the form lacks)."""
    types = tuple(kind for kind, _ in entity)
    return next((k for k, named in KINDS.items() if named == types), "")


def part_label(kind: str, name: str | None) -> str:
    label = TYPE_LABELS.get(kind, kind)
    return f"(default {label})" if name is None else f"{label} {name}"


def entity_label(entity: Entity) -> str:
    """`entity` as the page names it: "user alice + (default client id)"."""
    return " + ".join(part_label(kind, name) for kind, name in entity)


def entity_fields(entity: Entity) -> dict[str, str]:
    """The form fields naming `entity` (the remove buttons' hidden inputs)."""
    fields = {"kind": kind_of(entity)}
    for kind, name in entity:
        field = FIELDS.get(kind, kind)
        fields[field if name is not None else f"{field}_default"] = name or "on"
    return fields


def number(value: float) -> str:
    """A quota value without a float's noise: 1,048,576 rather than 1048576.0."""
    if value.is_integer() and abs(value) < 2**63:
        return f"{int(value):,}"
    return f"{value:,.6g}"


def _units(value: float) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(value) >= size:
            short = f"{value / size:.2f}".rstrip("0").rstrip(".")
            return f" ({short} {unit}/s)"
    return ""


def readable(key: str, value: float) -> str:
    """`value` of `key` in its unit: "1,048,576 bytes/s (1 MiB/s)", "50%"."""
    if key in BYTE_RATES:
        return f"{number(value)} bytes/s{_units(value)}"
    if key == "request_percentage":
        return f"{number(value)}%"
    if key == "controller_mutation_rate":
        return f"{number(value)} partition mutations/s"
    if key == "connection_creation_rate":
        return f"{number(value)} connections/s"
    return number(value)


@dataclass(frozen=True)
class QuotaRow:
    """One entity as the page lists it: its name, its remove buttons' hidden fields, and
    each (key, readable value)."""

    label: str
    fields: dict[str, str]
    items: list[tuple[str, str]]


def rows(entries: list[QuotaEntry]) -> list[QuotaRow]:
    return [
        QuotaRow(
            entity_label(e.entity),
            entity_fields(e.entity),
            [(key, readable(key, e.values[key])) for key in sorted(e.values, key=_key_order)],
        )
        for e in entries
    ]


def _key_order(key: str) -> tuple[int, str]:
    known = USER_AND_CLIENT_KEYS + IP_KEYS
    return (known.index(key) if key in known else len(known), key)
