"""What a request asks about, each thing once.

Kafka reads the topics and partitions of many requests into sets or maps keyed by what
they name, so a topic or partition named twice is answered once, in the place it was first
named. This module owns that reading for requests that list partition indexes per topic.
It must never decide what is answered for each.
"""

from __future__ import annotations

from collections.abc import Iterable


def partitions_once(asked: Iterable[tuple[str, Iterable[int]]]) -> list[tuple[str, list[int]]]:
    """(topic, partitions) with each topic and each of its partitions once, in first-named
    order: `[("a", [0, 0]), ("b", [1]), ("a", [2])]` becomes `[("a", [0, 2]), ("b", [1])]`."""
    seen: dict[str, dict[int, None]] = {}
    for topic, partitions in asked:
        seen.setdefault(topic, {}).update(dict.fromkeys(partitions))
    return [(topic, list(partitions)) for topic, partitions in seen.items()]
