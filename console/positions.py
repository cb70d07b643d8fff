"""Where to start reading, per partition: a start-position spec turned into offsets.

Owns the arithmetic the message browser and the offset reset share: given a spec
("earliest", "latest", an offset, a time, a duration ago, a shift, another group's
offsets) and each partition's kept range, the target offset of every partition, clamped
into the range the way kafka-consumer-groups does, with a note wherever the target is not
what was literally asked for. It must never read a cluster: callers look up the start
and end offsets, and the offsets by time, and hand them in.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from console.inputs import InputError, parse_duration, parse_int, parse_timestamp

TP = tuple[str, int]

# The offset of a partition that stays where it is (no committed offset to move from).
UNCHANGED = -1

MODES = ("earliest", "latest", "offset", "timestamp", "duration", "shift", "group")


@dataclass(frozen=True)
class Spec:
    """A start position as a person gave it. Its value is read once (`check` reads it up
    front, so a bad value is refused before anything is asked of a cluster)."""

    mode: str
    value: str = ""

    def check(self) -> None:
        if self.mode not in MODES:
            raise InputError(f"Choose a position: one of {', '.join(MODES)}.")
        if self.mode == "offset" and self.number < 0:
            raise InputError("An offset is never negative.")
        if self.mode in ("shift", "timestamp", "duration"):
            _ = self.number if self.mode == "shift" else self._time
        elif self.mode == "group" and not self.value.strip():
            raise InputError("Type the id of the group to copy offsets from.")

    @cached_property
    def number(self) -> int:
        """The offset to go to, or the records to shift by."""
        what = (
            "type how many records to move, e.g. -100 or +50"
            if self.mode == "shift"
            else "type the offset to start from"
        )
        return parse_int(self.value, what)

    @cached_property
    def _time(self) -> tuple[bool, int]:
        """(relative, ms): a time ago, or a moment."""
        if self.mode == "duration":
            return True, parse_duration(self.value)
        return False, parse_timestamp(self.value)

    def time_ms(self, now_ms: int) -> int | None:
        """The time whose offsets must be looked up, or None for the other modes."""
        if self.mode not in ("timestamp", "duration"):
            return None
        relative, ms = self._time
        return now_ms - ms if relative else ms


def targets(
    spec: Spec,
    tps: list[TP],
    starts: dict[TP, int],
    ends: dict[TP, int],
    *,
    by_time: dict[TP, int] | None = None,
    base: dict[TP, int] | None = None,
    base_name: str = "",
) -> tuple[dict[TP, int], dict[TP, str]]:
    """(target offset, note) per partition.

    `by_time` answers the spec's `time_ms` (-1 where no record is that recent); `base` is
    what "shift" moves from (the group's own committed offsets) or what "group" copies
    (`base_name`'s). A partition with nothing to move from gets `UNCHANGED`.
    """
    notes: dict[TP, str] = {}

    def clamp(tp: TP, offset: int) -> int:
        if offset < starts[tp]:
            notes[tp] = "before the oldest kept record: moved to the earliest"
            return starts[tp]
        if offset > ends[tp]:
            notes[tp] = "past the log end: moved to the latest"
            return ends[tp]
        return offset

    out: dict[TP, int] = {}
    if spec.mode == "earliest":
        out = {tp: starts[tp] for tp in tps}
    elif spec.mode == "latest":
        out = {tp: ends[tp] for tp in tps}
    elif spec.mode == "offset":
        out = {tp: clamp(tp, spec.number) for tp in tps}
    elif spec.mode in ("timestamp", "duration"):
        found = by_time or {}
        for tp in tps:
            if found.get(tp, -1) < 0:
                notes[tp] = "no record that recent: moved to the latest"
                out[tp] = ends[tp]
            else:
                out[tp] = found[tp]
    elif spec.mode in ("shift", "group"):
        moved_from = base or {}
        shift = (
            parse_int(spec.value, "type how many records to move") if spec.mode == "shift" else 0
        )
        for tp in tps:
            if tp in moved_from:
                out[tp] = clamp(tp, moved_from[tp] + shift)
            elif spec.mode == "shift":
                notes[tp] = "no committed offset to shift from: left unchanged"
                out[tp] = UNCHANGED
            else:
                notes[tp] = f"{base_name!r} has no offset here: left unchanged"
                out[tp] = UNCHANGED
    return out, notes
