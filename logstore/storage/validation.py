"""Checks a produce request's batches must pass before anything is written.

Framing (at least one whole batch, magic 2), CRC-32C of every batch, `max.message.bytes`,
keys on compacted topics, `message.timestamp.before/after.max.ms`. Errors are the ones
Apache Kafka 4 answers (checked by the differential suite): no whole batch or a magic
other than 2 is INVALID_RECORD (87), a CRC mismatch CORRUPT_MESSAGE (2).

Owns only these refusals. It must never write, assign offsets or decode records of
topics that are not compacted.
"""

from __future__ import annotations

from logstore.records import (
    HEADER_SIZE,
    BatchHeader,
    InvalidRecordError,
    InvalidTimestampError,
    RecordTooLargeError,
    decode_records,
    parse_header,
    validate_batch,
)
from logstore.storage.configs import LONG_MAX, TopicConfig

MAGIC_OFFSET = 16


def check_batches(
    view: memoryview, config: TopicConfig, now_ms: int
) -> list[tuple[int, BatchHeader]]:
    """(position, header) of every batch in `view`, or the error Kafka would answer."""
    if not len(view):
        raise InvalidRecordError("produce requests must have at least one record batch")
    headers: list[tuple[int, BatchHeader]] = []
    pos = 0
    while pos < len(view):
        _check_framing(view, pos)
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


def _check_framing(view: memoryview, pos: int) -> None:
    """A whole v2 batch starts at `pos` (Kafka answers INVALID_RECORD otherwise)."""
    remaining = len(view) - pos
    if remaining > MAGIC_OFFSET and view[pos + MAGIC_OFFSET] != 2:
        raise InvalidRecordError(
            f"only record batches with magic version 2 are accepted, got {view[pos + MAGIC_OFFSET]}"
        )
    if remaining < HEADER_SIZE or parse_header(view, pos).size > remaining:
        raise InvalidRecordError(f"incomplete record batch at position {pos}")


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
