"""Log compaction placeholder: replaced by the real cleaner in the next commit."""

from __future__ import annotations

from logstore.storage.partition import PartitionLog


def clean_log(log: PartitionLog, now_ms: int) -> object | None:
    return None
