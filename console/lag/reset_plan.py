"""Offset-reset plans: what a reset would do to each partition, before anything changes.

Owns parsing a person's reset request ("30 days", "2h", "2026-11-26 15:00", "-100") and
turning it into per-partition rows (current offset, new offset, its record's timestamp,
records replayed or skipped). It reads the cluster only through `console.kafka.groups`
and must never write offsets: applying a plan is `groups.alter_offsets`, after a preview.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from console.kafka import groups as kg

MODES = {
    "earliest": "the oldest record still kept",
    "latest": "the log end (skip everything not yet read)",
    "offset": "a specific offset",
    "timestamp": "the first record at or after a date and time (UTC)",
    "duration": "a duration ago, e.g. 30 days, 2h, 90 min",
    "shift": "shift the current offset by ±N records",
    "group": "the offsets another group has committed",
}

_UNITS_MS = {
    "ms": 1,
    "s": 1000,
    "sec": 1000,
    "second": 1000,
    "m": 60_000,
    "min": 60_000,
    "minute": 60_000,
    "h": 3_600_000,
    "hr": 3_600_000,
    "hour": 3_600_000,
    "d": 86_400_000,
    "day": 86_400_000,
    "w": 604_800_000,
    "week": 604_800_000,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")


class PlanInputError(ValueError):
    """The reset request cannot be understood; the message says what to type instead."""


def parse_duration(text: str) -> int:
    """ "30 days" / "2h" / "1 h 30 min" / "PT2H"-free plain words -> milliseconds."""
    cleaned = text.strip().lower().replace(",", " ").removesuffix(" ago")
    if not cleaned:
        raise PlanInputError("Type a duration such as “30 days”, “2h” or “90 min”.")
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(cleaned):
        if cleaned[pos : match.start()].strip():
            break
        unit = match.group(2)
        unit = unit[:-1] if unit.endswith("s") and unit[:-1] in _UNITS_MS else unit
        if unit not in _UNITS_MS:
            raise PlanInputError(
                f"“{match.group(2)}” is not a unit I know; use s, min, h, days or weeks."
            )
        total += float(match.group(1)) * _UNITS_MS[unit]
        pos = match.end()
    if pos != len(cleaned) or total <= 0:
        raise PlanInputError(
            f"“{text}” is not a duration; type one such as “30 days”, “2h” or “1 h 30 min”."
        )
    return int(total)


def parse_timestamp(text: str) -> int:
    """An ISO date/time (UTC unless it says otherwise) or epoch milliseconds -> ms."""
    value = text.strip()
    if re.fullmatch(r"\d{12,14}", value):
        return int(value)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PlanInputError(
            f"“{text}” is not a date; type one like 2026-11-26 15:30 (UTC) "
            "or milliseconds since 1970."
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def _parse_int(text: str, what: str) -> int:
    try:
        return int(text.strip().replace("_", "").replace(" ", ""))
    except ValueError:
        raise PlanInputError(f"“{text}” is not a whole number; {what}.") from None


@dataclass(frozen=True)
class ResetSpec:
    """What a person asked for: a mode and its value, already checked."""

    mode: str
    value: str = ""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise PlanInputError(f"Choose how to reset: one of {', '.join(MODES)}.")
        self.check()

    def check(self) -> None:
        if self.mode == "offset":
            if _parse_int(self.value, "type the offset to start from") < 0:
                raise PlanInputError("An offset is never negative.")
        elif self.mode == "shift":
            _parse_int(self.value, "type how many records to move, e.g. -100 or +50")
        elif self.mode == "timestamp":
            parse_timestamp(self.value)
        elif self.mode == "duration":
            parse_duration(self.value)
        elif self.mode == "group" and not self.value.strip():
            raise PlanInputError("Type the id of the group to copy offsets from.")

    def describe(self) -> str:
        if self.mode in ("earliest", "latest"):
            return f"to {self.mode}"
        if self.mode == "shift":
            return f"shift by {int(self.value):+d}"
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
    def offsets(self) -> dict[kg.TP, int]:
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
    conf: kg.Conf,
    group_id: str,
    spec: ResetSpec,
    *,
    topic: str | None,
    partitions: list[int] | None,
    now_ms: int,
    timeout: float = kg.DEFAULT_TIMEOUT,
) -> Plan:
    """Per-partition preview. `topic=None` means every topic the group has offsets for;
    `partitions=None` means all partitions of the chosen topic(s)."""
    if topic is None and partitions is not None:
        raise PlanInputError(
            "Choose a topic to pick partitions; without one, every partition of every "
            "topic the group reads is reset."
        )
    committed = kg.committed_offsets(conf, [group_id], timeout)[group_id]
    if topic is None:
        topics = sorted({t for t, _ in committed})
        if not topics:
            raise PlanInputError(
                f"Group {group_id!r} has no committed offsets yet; choose a topic to reset."
            )
    else:
        topics = [topic]
    tps: list[kg.TP] = []
    for t in topics:
        known = kg.partitions_of(conf, t, timeout)
        chosen = known if partitions is None else partitions
        unknown = sorted(set(chosen) - set(known))
        if unknown:
            raise PlanInputError(
                f"Topic {t!r} has partitions 0–{len(known) - 1}; "
                f"there is no partition {', '.join(map(str, unknown))}."
            )
        tps += [(t, p) for p in sorted(set(chosen))]
    starts = kg.start_offsets(conf, tps, timeout)
    ends = kg.end_offsets(conf, tps, timeout)
    targets, notes = _targets(conf, spec, tps, committed, starts, ends, now_ms, timeout)
    stamps = kg.record_timestamps(
        conf, {tp: o for tp, o in targets.items() if 0 <= o < ends[tp]}, timeout
    )
    rows = [
        PlanRow(
            topic=tp[0],
            partition=tp[1],
            current=committed.get(tp),
            new=targets[tp],
            start=starts[tp],
            end=ends[tp],
            new_timestamp=stamps.get(tp),
            note=notes.get(tp, ""),
        )
        for tp in tps
    ]
    return Plan(group_id=group_id, spec=spec, rows=rows, made_at_ms=now_ms)


def _targets(
    conf: kg.Conf,
    spec: ResetSpec,
    tps: list[kg.TP],
    committed: dict[kg.TP, int],
    starts: dict[kg.TP, int],
    ends: dict[kg.TP, int],
    now_ms: int,
    timeout: float,
) -> tuple[dict[kg.TP, int], dict[kg.TP, str]]:
    notes: dict[kg.TP, str] = {}
    out: dict[kg.TP, int] = {}

    def clamp(tp: kg.TP, offset: int) -> int:
        # Like kafka-consumer-groups: an offset outside the kept range snaps to its edge.
        if offset < starts[tp]:
            notes[tp] = "before the oldest kept record: moved to the earliest"
            return starts[tp]
        if offset > ends[tp]:
            notes[tp] = "past the log end: moved to the latest"
            return ends[tp]
        return offset

    if spec.mode == "earliest":
        out = {tp: starts[tp] for tp in tps}
    elif spec.mode == "latest":
        out = {tp: ends[tp] for tp in tps}
    elif spec.mode == "offset":
        n = _parse_int(spec.value, "type the offset")
        out = {tp: clamp(tp, n) for tp in tps}
    elif spec.mode in ("timestamp", "duration"):
        when = (
            parse_timestamp(spec.value)
            if spec.mode == "timestamp"
            else now_ms - parse_duration(spec.value)
        )
        found = kg.offsets_for_time(conf, tps, when, timeout)
        for tp in tps:
            if found[tp] < 0:
                notes[tp] = "no record that recent: moved to the latest"
                out[tp] = ends[tp]
            else:
                out[tp] = found[tp]
    elif spec.mode == "shift":
        n = _parse_int(spec.value, "type how many records to move")
        for tp in tps:
            if tp in committed:
                out[tp] = clamp(tp, committed[tp] + n)
            else:
                notes[tp] = "no committed offset to shift from: left unchanged"
                out[tp] = -1
    elif spec.mode == "group":
        source = spec.value.strip()
        theirs = kg.committed_offsets(conf, [source], timeout)[source]
        if not theirs:
            raise PlanInputError(f"Group {source!r} has no committed offsets to copy.")
        for tp in tps:
            if tp in theirs:
                out[tp] = clamp(tp, theirs[tp])
            else:
                notes[tp] = f"{source!r} has no offset here: left unchanged"
                out[tp] = -1
    # "Left unchanged" rows keep the current offset, so applying does not touch them.
    for tp, offset in list(out.items()):
        if offset == -1:
            out[tp] = committed.get(tp, -1)
    return out, notes
