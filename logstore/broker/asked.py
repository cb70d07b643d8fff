"""What a request asks about, each thing once.

Kafka reads the topics and partitions of many requests into sets or maps keyed by what
they name, so a topic or partition named twice is answered once, in the place it was first
named (or, where the request is keyed by partition, with what its last entry carries).
This module owns that reading for requests that list partitions per topic.
It must never decide what is answered for each.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


def partitions_once(asked: Iterable[tuple[str, Iterable[int]]]) -> list[tuple[str, list[int]]]:
    """(topic, partitions) with each topic and each of its partitions once, in first-named
    order: `[("a", [0, 0]), ("b", [1]), ("a", [2])]` becomes `[("a", [0, 2]), ("b", [1])]`."""
    seen: dict[str, dict[int, None]] = {}
    for topic, partitions in asked:
        seen.setdefault(topic, {}).update(dict.fromkeys(partitions))
    return [(topic, list(partitions)) for topic, partitions in seen.items()]


def last_entries(asked: Iterable[tuple[str, Iterable[tuple[int, T]]]]) -> dict[str, dict[int, T]]:
    """topic -> partition -> what the last entry naming that partition carries, topics and
    partitions in first-named order (Kafka keys Produce, DeleteRecords and ListOffsets by
    partition, so a later entry replaces an earlier one)."""
    out: dict[str, dict[int, T]] = {}
    for topic, entries in asked:
        out.setdefault(topic, {}).update(entries)
    return out
