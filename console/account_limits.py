"""Which Kafka client quotas a team's service accounts carry: the byte rates an admin set on
the team, as the gateway's changes on one account's user entity, and as sentences the
account page and the shown configuration read.

Owns the rules only: each of the team's accounts gets the team's `producer_byte_rate` and
`consumer_byte_rate` on its own user entity (so every account has the whole rate, not a
share), a blank rate is no quota at all. Pure: it must never call a cluster, touch the
database, nor judge a value (the cluster does, in Kafka's words).
"""

from __future__ import annotations

from typing import Protocol

from console.client_quota_terms import BYTE_RATES, readable
from console.kafka.client_quotas import USER, Entity

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
