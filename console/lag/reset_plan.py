"""Offset-reset plans: what a reset would do to each partition, before anything changes.

Owns the reset request (`ResetSpec`: a start position from `console.positions` plus what
to copy or shift from) and the plan: everything the preview needs is gathered first (the
group's and the source group's committed offsets, the topics' partitions, start and end
offsets, offsets by time), then the targets are computed without the cluster
(`console.positions.targets`), then the records at the targets are peeked for their
timestamps. It reads the cluster only through `console.kafka` and must never write
offsets: applying a plan is `console.kafka.groups.alter_offsets`, after a preview.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from console import positions
from console.inputs import InputError
from console.kafka import resets
from console.kafka.config import ClusterConfig
from console.kafka.model import TP

MODES = {
    "earliest": "the oldest record still kept",
    "latest": "the log end (skip everything not yet read)",
    "offset": "a specific offset",
    "timestamp": "the first record at or after a date and time (UTC)",
    "duration": "a duration ago, e.g. 30 days, 2h, 90 min",
    "shift": "shift the current offset by ±N records",
    "group": "the offsets another group has committed",
}


@dataclass(frozen=True)
class ResetSpec(positions.Spec):
    """What a person asked for: a position to move the group to, checked up front."""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InputError(f"Choose how to reset: one of {', '.join(MODES)}.")
        self.check()

    def describe(self) -> str:
        if self.mode in ("earliest", "latest"):
            return f"to {self.mode}"
        if self.mode == "shift":
            return f"shift by {self.number:+d}"
        if self.mode == "group":
            return f"copy from group {self.value.strip()!r}"
        if self.mode == "duration":
            return f"to {self.value.strip()} ago"
        return f"to {self.mode} {self.value.strip()}"


@dataclass(frozen=True)
class PlanRow:
    topic: str
    partition: int
    current: int | None
    new: int
    start: int
    end: int
    new_timestamp: int | None
    note: str = ""

    @property
    def replayed(self) -> int:
        """Records the group will read again (the reset moves it back)."""
        return (
            self.current - self.new if self.current is not None and self.new < self.current else 0
        )

    @property
    def skipped(self) -> int:
        """Records the group will never read (the reset moves it forward)."""
        return (
            self.new - self.current if self.current is not None and self.new > self.current else 0
        )

    @property
    def to_read(self) -> int:
        return max(0, self.end - self.new)

    @property
    def changes(self) -> bool:
        return self.new >= 0 and self.current != self.new


@dataclass
class Plan:
    group_id: str
    spec: ResetSpec
    rows: list[PlanRow]
    made_at_ms: int

    @property
    def offsets(self) -> dict[TP, int]:
        return {(r.topic, r.partition): r.new for r in self.rows if r.changes}

    @property
    def replayed(self) -> int:
        return sum(r.replayed for r in self.rows)

    @property
    def skipped(self) -> int:
        return sum(r.skipped for r in self.rows)

    @property
    def topics(self) -> list[str]:
        return sorted({r.topic for r in self.rows})

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group_id,
            "mode": self.spec.mode,
            "value": self.spec.value,
            "made_at_ms": self.made_at_ms,
            "rows": [asdict(r) for r in self.rows],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(
            group_id=data["group"],
            spec=ResetSpec(data["mode"], data["value"]),
            rows=[PlanRow(**r) for r in data["rows"]],
            made_at_ms=data["made_at_ms"],
        )


def plan_reset(
    cluster: ClusterConfig,
    group_id: str,
    spec: ResetSpec,
    *,
    topic: str | None,
    partitions: list[int] | None,
    now_ms: int,
    share_starts: dict[TP, int] | None = None,
) -> Plan:
    """Per-partition preview. `topic=None` means every topic the group has offsets for;
    `partitions=None` means all partitions of the chosen topic(s). For a share group,
    `share_starts` holds its share-partition start offsets, which stand for the
    committed offsets (it has none).

    Gathers, then computes, then peeks: one batched read of everything the targets depend
    on, the targets themselves without the cluster, and one read of the records there.
    """
    if topic is None and partitions is not None:
        raise InputError(
            "Choose a topic to pick partitions; without one, every partition of every "
            "topic the group reads is reset."
        )
    source = spec.value.strip() if spec.mode == "group" else ""
    asked = [group_id] if share_starts is None else []
    facts = resets.read_reset(
        cluster,
        list(dict.fromkeys([*asked, source] if source else asked)),
        topic,
        partitions,
        spec.time_ms(now_ms),
        topics=sorted({t for t, _ in share_starts}) if share_starts is not None else None,
    )
    committed = facts.committed[group_id] if share_starts is None else share_starts
    if source and not facts.committed[source]:
        raise InputError(f"Group {source!r} has no committed offsets to copy.")
    if not facts.partitions:
        what = "committed offsets" if share_starts is None else "share-partition state"
        raise InputError(f"Group {group_id!r} has no {what} yet; choose a topic to reset.")
    tps: list[TP] = []
    for t, known in sorted(facts.partitions.items()):
        chosen = known if partitions is None else sorted(set(partitions))
        unknown = sorted(set(chosen) - set(known))
        if unknown:
            raise InputError(
                f"Topic {t!r} has partitions 0–{len(known) - 1}; "
                f"there is no partition {', '.join(map(str, unknown))}."
            )
        tps += [(t, p) for p in chosen]
    targets, notes = positions.targets(
        spec,
        tps,
        facts.starts,
        facts.ends,
        by_time={tp: a[0] for tp, a in facts.by_time.items()},
        base=facts.committed[source] if source else committed,
        base_name=source,
    )
    # "Left unchanged" rows keep the current offset, so applying does not touch them.
    for tp, offset in targets.items():
        if offset == positions.UNCHANGED:
            targets[tp] = committed.get(tp, positions.UNCHANGED)
    stamps = _known_stamps(facts, targets)
    unknown_stamps = {
        tp: o for tp, o in targets.items() if 0 <= o < facts.ends[tp] and tp not in stamps
    }
    if unknown_stamps:
        stamps |= resets.stamps_at(cluster, unknown_stamps, facts.leaders)
    rows = [
        PlanRow(
            topic=tp[0],
            partition=tp[1],
            current=committed.get(tp),
            new=targets[tp],
            start=facts.starts[tp],
            end=facts.ends[tp],
            new_timestamp=stamps.get(tp),
            note=notes.get(tp, ""),
        )
        for tp in tps
    ]
    return Plan(group_id=group_id, spec=spec, rows=rows, made_at_ms=now_ms)


def _known_stamps(facts: resets.ResetFacts, targets: dict[TP, int]) -> dict[TP, int | None]:
    """Timestamps the offset lookups already answered: ListOffsets gives the timestamp of
    the record it found, so a target at the first record or at a time needs no read."""
    out: dict[TP, int | None] = {}
    for tp, target in targets.items():
        for answer in (facts.oldest.get(tp), facts.by_time.get(tp)):
            if answer is not None and answer[0] == target and answer[1] >= 0:
                out[tp] = answer[1]
    return out
