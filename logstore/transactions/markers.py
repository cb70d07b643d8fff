"""Appending one COMMIT/ABORT marker to one data partition, and the partition's checks.

Owns the single way a transaction marker reaches a partition log, whoever decided it (the
transaction coordinator ending its own transaction, or WriteTxnMarkers from an admin tool
or another coordinator): the partition-side fencing Kafka applies to a marker (an older
producer epoch, an older coordinator epoch), then the append, the producer-state update,
durability and the fetch wake-up. It must never decide a transaction's outcome, read
`__transaction_state` or parse requests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from logstore import error_codes as ec
from logstore.records import parse_header
from logstore.records.control import build_control_batch


def marker_refusal(
    producers: Any, plog: Any, producer_id: int, epoch: int, coord_epoch: int
) -> int:
    """Kafka's code when this partition must refuse the marker, else 0."""
    current = producers.marker_epochs(plog, producer_id)
    if current is None:
        return ec.NONE
    producer_epoch, coordinator_epoch = current
    if epoch < producer_epoch:
        return ec.INVALID_PRODUCER_EPOCH
    if coord_epoch < coordinator_epoch:
        return ec.TRANSACTION_COORDINATOR_FENCED
    return ec.NONE


async def append_marker(
    logs: Any,
    producers: Any,
    plog: Any,
    producer_id: int,
    epoch: int,
    *,
    commit: bool,
    coordinator_epoch: int,
    now_ms: int,
    notify: Callable[[str, int], None],
) -> None:
    """Append the marker, record it in the partition's producer state, wait until it is
    durable, then wake fetches waiting on the partition."""
    batch = build_control_batch(
        producer_id, epoch, commit=commit, coordinator_epoch=coordinator_epoch, timestamp=now_ms
    )
    result = plog.append(batch)
    producers.record(plog, parse_header(batch), result.base_offset)
    await logs.wait_durable(plog, result.last_offset)
    notify(plog.topic, plog.partition)
