"""Per-data-directory checkpoint files: recovery points, log start offsets, clean marker.

Owns their names and format (JSON `{topic: {partition: offset}}`, written atomically). It
must never decide what the offsets are: PartitionLogs own those.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from logstore.storage.files import write_atomic

RECOVERY_POINTS = "recovery-point-offset-checkpoint"
LOG_START_OFFSETS = "log-start-offset-checkpoint"
CLEAN_SHUTDOWN = ".clean-shutdown"

Offsets = dict[tuple[str, int], int]


def read_offsets(path: Path) -> Offsets:
    """A missing or unreadable checkpoint is empty (recovery then scans everything)."""
    try:
        raw = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return {(topic, int(p)): int(off) for topic, parts in raw.items() for p, off in parts.items()}


def write_offsets(path: Path, entries: Iterable[tuple[str, int, int]]) -> None:
    """Atomically replace a checkpoint with (topic, partition, offset) entries."""
    nested: dict[str, dict[str, int]] = {}
    for topic, partition, offset in entries:
        nested.setdefault(topic, {})[str(partition)] = offset
    write_atomic(path, json.dumps(nested, sort_keys=True).encode())
