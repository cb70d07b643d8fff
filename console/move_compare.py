"""Source and target side by side while data moves: pure logic, no I/O.

Owns lining up, partition by partition, the records each cluster holds of a topic and the
position each group has committed, and saying whether the move has caught up. It must
never call a cluster (the view reads both through `console.kafka`) nor start anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from console.kafka.model import TopicInfo

TP = tuple[str, int]


@dataclass(frozen=True)
class Row:
    """One partition's figure on both sides; None where that side has no such partition."""

    topic: str
    partition: int
    source: int | None
    target: int | None

    @property
    def matches(self) -> bool:
        return self.source == self.target


@dataclass(frozen=True)
class Comparison:
    records: list[Row]
    positions: dict[str, list[Row]]

    @property
    def matches(self) -> bool:
        rows = self.records + [r for rows in self.positions.values() for r in rows]
        return bool(rows) and all(r.matches for r in rows)

    @property
    def behind(self) -> int:
        return sum(1 for r in self.records if not r.matches) + sum(
            1 for rows in self.positions.values() for r in rows if not r.matches
        )


def _records(topic: TopicInfo | None) -> dict[int, int]:
    # The end offset, not the count: MirrorMaker with identity names copies every record
    # kept, so a target that caught up ends where the source ends.
    return {p.partition: p.end for p in topic.partitions} if topic else {}


def compare(
    source_topics: Mapping[str, TopicInfo | None],
    target_topics: Mapping[str, TopicInfo | None],
    source_groups: Mapping[str, Mapping[TP, int]],
    target_groups: Mapping[str, Mapping[TP, int]],
) -> Comparison:
    records = []
    for name in sorted(source_topics):
        src, dst = _records(source_topics[name]), _records(target_topics.get(name))
        for partition in sorted(set(src) | set(dst)):
            records.append(Row(name, partition, src.get(partition), dst.get(partition)))
    positions: dict[str, list[Row]] = {}
    for group in sorted(source_groups):
        src_pos, dst_pos = source_groups[group], target_groups.get(group, {})
        # The source's positions are what must arrive; one the target has beyond them
        # (an empty partition MirrorMaker set to 0) changes nothing for the consumer.
        positions[group] = [
            Row(t, p, src_pos[(t, p)], dst_pos.get((t, p)))
            for t, p in sorted(src_pos)
            if t in source_topics
        ]
    return Comparison(records, positions)
