"""Which leading segments retention deletes: by `retention.ms` and `retention.bytes`.

Judged per whole segment by its largest timestamp, oldest first, stopping at the first
segment that must stay (as Kafka does). Owns only the decision; the PartitionLog deletes
files and moves the log start offset. It must never look inside segments.
"""

from __future__ import annotations

from collections.abc import Sequence

from logstore.storage.configs import TopicConfig
from logstore.storage.segment import Segment


def expired_segments(
    segments: Sequence[Segment], total_bytes: int, config: TopicConfig, now_ms: int
) -> int:
    """How many segments from the front to delete (the last one counts only when expired
    by time; the caller rolls it first)."""
    if not config.delete:
        return 0
    count = 0
    if config.retention_ms >= 0:
        horizon = now_ms - config.retention_ms
        last = segments[-1]
        for segment in segments:
            # An empty closed segment (emptied by compaction) goes with its neighbours.
            if (segment.size == 0 and segment is not last) or (
                segment.size and segment.max_timestamp < horizon
            ):
                count += 1
            else:
                break
    if config.retention_bytes >= 0:
        excess = total_bytes - config.retention_bytes
        by_size = 0
        for segment in segments[:-1]:
            if excess - segment.size < 0:
                break
            excess -= segment.size
            by_size += 1
        count = max(count, by_size)
    return count
