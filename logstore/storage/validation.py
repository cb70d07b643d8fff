"""Checks a produce request's batches must pass before anything is written.

Length, magic and CRC-32C of every batch; `max.message.bytes`; keys on compacted topics;
`message.timestamp.before/after.max.ms`. Owns only these refusals. It must never write,
assign offsets or decode records of topics that are not compacted.
"""

from __future__ import annotations

from logstore.records import (
    BatchHeader,
    CorruptRecordError,
    InvalidRecordError,
    InvalidTimestampError,
    RecordTooLargeError,
    decode_records,
    validate_batch,
)
from logstore.storage.configs import LONG_MAX, TopicConfig


def check_batches(
    view: memoryview, config: TopicConfig, now_ms: int
) -> list[tuple[int, BatchHeader]]:
    """(position, header) of every batch in `view`, or the error Kafka would answer."""
    if not len(view):
        raise CorruptRecordError("no record batches in the produce data")
    headers: list[tuple[int, BatchHeader]] = []
    pos = 0
    while pos < len(view):
        header = validate_batch(view, pos)
        if header.size > config.max_message_bytes:
            raise RecordTooLargeError(
                f"batch of {header.size} bytes exceeds max.message.bytes {config.max_message_bytes}"
            )
        headers.append((pos, header))
        pos += header.size
    if config.compact:
        _check_keys(view, headers)
    if not config.log_append_time:
        _check_timestamps(headers, config, now_ms)
    return headers


def _check_keys(view: memoryview, headers: list[tuple[int, BatchHeader]]) -> None:
    for pos, header in headers:
        if header.is_control:
            continue
        for record in decode_records(view[pos : pos + header.size]):
            if record.key is None:
                raise InvalidRecordError("compacted topic cannot accept a record without a key")


def _check_timestamps(
    headers: list[tuple[int, BatchHeader]], config: TopicConfig, now_ms: int
) -> None:
    before, after = config.timestamp_before_max_ms, config.timestamp_after_max_ms
    if before == LONG_MAX and after == LONG_MAX:
        return
    for _, header in headers:
        # Per batch, not per record: the header's bounds are what we can check cheaply.
        if header.max_timestamp > now_ms + after or (
            header.base_timestamp >= 0 and header.base_timestamp < now_ms - before
        ):
            raise InvalidTimestampError(f"timestamp {header.max_timestamp} is out of range")
