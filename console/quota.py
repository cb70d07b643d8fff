"""Team quota arithmetic: whether a topic's shape, or one change to it, fits a team's policy.

Owns the rules every path applies to a team member's change (create, the per-config
editor, the retention page, adding partitions), as plain functions of numbers: the
team's limits (`Limits`), the topic as it would be (`Shape`) and the team's other topics.
The byte budget counts what topics may grow to (partitions × retention.bytes), never the
bytes on disk now; a topic without a size cap cannot be bounded, so under a budget it is
refused. Answers are readable sentences, empty when the change fits. It must never read
a cluster or the database and never decide who is an admin: callers skip it for admins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

# Keys a team member may set, with the bounds that keep one topic from hurting the
# cluster (tiny segments mean thousands of files; huge records starve other consumers).
# Kafka's own default for max.message.bytes is 1 MiB plus batch overhead.
MAX_MESSAGE_BYTES = 1_048_588
MIN_SEGMENT_MS = 3_600_000
MIN_SEGMENT_BYTES = 1_048_576
MIN_MAX_COMPACTION_LAG_MS = 3_600_000
_BOUNDED: dict[str, tuple[int, int | None]] = {
    "max.message.bytes": (1, MAX_MESSAGE_BYTES),
    "segment.ms": (MIN_SEGMENT_MS, None),
    "segment.bytes": (MIN_SEGMENT_BYTES, None),
    "max.compaction.lag.ms": (MIN_MAX_COMPACTION_LAG_MS, None),
    "min.compaction.lag.ms": (0, None),
    "delete.retention.ms": (0, None),
}
_CHOICES: dict[str, set[str]] = {
    "cleanup.policy": {"delete", "compact", "compact,delete", "delete,compact"},
    "compression.type": {"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"},
    "message.timestamp.type": {"CreateTime", "LogAppendTime"},
}
_SHAPE_KEYS = {"retention.ms", "retention.bytes", "cleanup.policy"}
MEMBER_KEYS = frozenset(_BOUNDED) | frozenset(_CHOICES) | _SHAPE_KEYS


@dataclass(frozen=True)
class Limits:
    """A team's policy: its prefix and quotas (None = no limit)."""

    name: str
    prefix: str
    max_partitions: int
    max_retention_ms: int | None = None
    max_total_bytes: int | None = None


@dataclass(frozen=True)
class Shape:
    """What decides how big a topic may grow. None means the cluster default (unknown)."""

    name: str
    partitions: int
    retention_ms: int | None = None
    retention_bytes: int | None = None
    cleanup_policy: str = "delete"

    @property
    def growth(self) -> int | None:
        """The most bytes the topic may hold; None when nothing bounds it."""
        if "delete" not in self.cleanup_policy:
            return None  # compaction keeps the latest value of every key, however many
        if self.retention_bytes is None or self.retention_bytes < 0:
            return None
        return self.partitions * self.retention_bytes


def _age(ms: int) -> str:
    for unit, size in (("day", 86_400_000), ("hour", 3_600_000), ("minute", 60_000)):
        if ms >= size and ms % size == 0:
            n = ms // size
            return f"{n:,} {unit}{'s' if n != 1 else ''}"
    return f"{ms:,} ms"


def prefix_problems(limits: Limits, name: str) -> list[str]:
    if name.startswith(limits.prefix):
        return []
    return [f"The name does not start with the team prefix {limits.prefix!r}."]


def partition_problems(limits: Limits, partitions: int) -> list[str]:
    if partitions <= limits.max_partitions:
        return []
    return [f"{partitions} partitions is more than the team's {limits.max_partitions} per topic."]


def retention_problems(limits: Limits, retention_ms: int | None) -> list[str]:
    if limits.max_retention_ms is None:
        return []
    if retention_ms is None or retention_ms < 0:
        return [
            "Keeping records forever (or at the cluster default) exceeds the team's max "
            f"retention ({_age(limits.max_retention_ms)})."
        ]
    if retention_ms > limits.max_retention_ms:
        return [
            f"The retention is longer than the team's max retention "
            f"({_age(limits.max_retention_ms)})."
        ]
    return []


def budget_problems(limits: Limits, topic: Shape, others: Iterable[Shape] | None) -> list[str]:
    """Would `topic`, beside the team's `others` (None: unknown), fit the byte budget?"""
    budget = limits.max_total_bytes
    if budget is None:
        return []
    if topic.growth is None:
        if "delete" not in topic.cleanup_policy:
            return ["The team has a byte budget, and a compacted-only topic has no size cap."]
        return ["The team has a byte budget, so the topic needs a size cap per partition."]
    if others is None:
        return ["The team's other topics cannot be read now, so the byte budget cannot be checked."]
    rest = [o for o in others if o.name != topic.name]
    unbounded = sorted(o.name for o in rest if o.growth is None)
    if unbounded:
        return [
            f"The team's topics {', '.join(unbounded)} have no size cap, so nothing more fits "
            "the byte budget until an admin caps them."
        ]
    if sum(o.growth or 0 for o in rest) + topic.growth > budget:
        return ["The size cap would take the team over its byte budget."]
    return []


def topic_problems(limits: Limits, topic: Shape, others: Iterable[Shape] | None) -> list[str]:
    """Everything that keeps a new topic outside the policy."""
    return (
        prefix_problems(limits, topic.name)
        + partition_problems(limits, topic.partitions)
        + retention_problems(limits, topic.retention_ms)
        + budget_problems(limits, topic, others)
    )


def _int_or_problem(key: str, value: str) -> tuple[int | None, list[str]]:
    try:
        return int(value), []
    except ValueError:
        return None, [f"{key} takes a whole number, not {value!r}."]


def config_problems(
    limits: Limits,
    current: Shape,
    changes: dict[str, str | None],
    others: Iterable[Shape] | None,
) -> list[str]:
    """Why a member may not make these config changes (None resets to the default)."""
    problems: list[str] = []
    shape = current
    for key, value in changes.items():
        if key not in MEMBER_KEYS:
            problems.append(f"Only an admin changes {key}.")
            continue
        if value is None:
            # A reset is judged as Kafka's defaults: retention unknown here (so it cannot
            # be shown to fit), no size cap, delete.
            if key == "retention.ms":
                shape = replace(shape, retention_ms=None)
            elif key == "retention.bytes":
                shape = replace(shape, retention_bytes=-1)
            elif key == "cleanup.policy":
                shape = replace(shape, cleanup_policy="delete")
            continue
        if key in _CHOICES:
            if value not in _CHOICES[key]:
                problems.append(f"{key} is one of {', '.join(sorted(_CHOICES[key]))}.")
            elif key == "cleanup.policy":
                shape = replace(shape, cleanup_policy=value)
            continue
        number, bad = _int_or_problem(key, value)
        if number is None:
            problems += bad
            continue
        if key in _BOUNDED:
            low, high = _BOUNDED[key]
            if number < low or (high is not None and number > high):
                within = f"at least {low:,}" if high is None else f"{low:,} to {high:,}"
                problems.append(f"{key} for team topics is {within}; ask an admin for more.")
        elif key == "retention.ms":
            shape = replace(shape, retention_ms=number)
        elif key == "retention.bytes":
            shape = replace(shape, retention_bytes=number)
    if shape.retention_ms != current.retention_ms:
        problems += retention_problems(limits, shape.retention_ms)
    if (shape.retention_bytes, shape.cleanup_policy) != (
        current.retention_bytes,
        current.cleanup_policy,
    ) and not _shrinks(current, shape):
        problems += budget_problems(limits, shape, others)
    return problems


def _shrinks(current: Shape, shape: Shape) -> bool:
    """Lowering a cap is always allowed, even on a team already over its budget."""
    return (
        current.growth is not None and shape.growth is not None and shape.growth <= current.growth
    )


def partitions_problems(
    limits: Limits, current: Shape, total: int, others: Iterable[Shape] | None
) -> list[str]:
    """Why a member may not grow `current` to `total` partitions."""
    grown = replace(current, partitions=total)
    return partition_problems(limits, total) + budget_problems(limits, grown, others)
