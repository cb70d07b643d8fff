"""Which Kafka client quotas a team's service accounts carry: the byte rates an admin set on
the team, as the gateway's changes on one account's user entity, and as sentences the
account page and the shown configuration read, and which accounts a cluster holds other
rates for.

Owns the rules only: each of the team's accounts gets the team's `producer_byte_rate` and
`consumer_byte_rate` on its own user entity (so every account has the whole rate, not a
share), a blank rate is no quota at all, and an account holds the team's rates only when
both keys match exactly (other keys on its entity are an admin's own, never compared).
Pure: it must never call a cluster, touch the database, nor judge a value (the cluster
does, in Kafka's words).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from console.client_quota_terms import BYTE_RATES, readable
from console.kafka.client_quotas import USER, Entity, QuotaEntry, canonical

VERBS = {"producer_byte_rate": "Produce", "consumer_byte_rate": "Consume"}


class HasRates(Protocol):
    producer_byte_rate: int | None
    consumer_byte_rate: int | None


def entity(account_name: str) -> Entity:
    """The quota entity of a service account: its SCRAM user, on its own."""
    return ((USER, account_name),)


def rates(team: HasRates) -> dict[str, float | None]:
    """Both byte rates of `team`, None where it sets none: the gateway's `changes`, which
    remove a rate the team no longer sets."""
    values = {
        "producer_byte_rate": team.producer_byte_rate,
        "consumer_byte_rate": team.consumer_byte_rate,
    }
    return {key: None if value is None else float(value) for key, value in values.items()}


def set_rates(team: HasRates) -> dict[str, float]:
    """Only the rates `team` sets (what a new account needs; nothing when it sets none)."""
    return {key: value for key, value in rates(team).items() if value is not None}


def labels(values: dict[str, float | None]) -> list[str]:
    """ "produce: 1,048,576 bytes/s (1 MiB/s)" for each rate set, produce first."""
    return [
        f"{VERBS[key].lower()}: {readable(key, value)}"
        for key in BYTE_RATES
        if (value := values.get(key)) is not None
    ]


def sentences(values: dict[str, float | None]) -> list[str]:
    """ "Produce limited to 1,048,576 bytes/s (1 MiB/s) by your team's settings." for each
    rate set, produce first."""
    return [
        f"{VERBS[key]} limited to {readable(key, value)} by your team's settings."
        for key in BYTE_RATES
        if (value := values.get(key)) is not None
    ]


def differing(
    entries: Iterable[QuotaEntry], names: Iterable[str], team: HasRates
) -> dict[str, dict[str, float | None]]:
    """The accounts in `names` whose own user entity, among the described `entries`, does
    not hold exactly the team's byte rates, with the rates it holds (None where it holds
    none, the shape of `rates`): those an earlier change did not reach."""
    found = {e.entity: e.values for e in entries}
    wanted = rates(team)
    holding = {
        name: {key: found.get(canonical(entity(name)), {}).get(key) for key in BYTE_RATES}
        for name in names
    }
    return {name: values for name, values in holding.items() if values != wanted}


def held_sentence(holding: Mapping[str, float | None], team: HasRates) -> str:
    """ "On this cluster: produce unlimited, consume 1,048,576 bytes/s (1 MiB/s) — the team
    sets produce 2,097,152 bytes/s (2 MiB/s). …" for an account `differing` names: all it
    holds, then the team's rates where they differ."""
    wanted = rates(team)
    apart = [key for key in BYTE_RATES if holding.get(key) != wanted[key]]
    return (
        f"On this cluster: {_each(holding, BYTE_RATES)} — the team sets {_each(wanted, apart)}. "
        "An administrator saving the team re-applies its rates."
    )


def _each(values: Mapping[str, float | None], keys: Iterable[str]) -> str:
    return ", ".join(f"{VERBS[key].lower()} {_rate(key, values.get(key))}" for key in keys)


def _rate(key: str, value: float | None) -> str:
    return "unlimited" if value is None else readable(key, value)
