"""Reading a `__consumer_offsets` partition back at start-up, batch by batch.

Owns the walk over one partition's batches, oldest first, turned into what a replay needs:
every record with its offset and, for a transactional batch, its producer id and epoch;
every transaction marker (control batch) with its producer id and outcome. It must never
decide what a record means (the coordinator and `groups/offsets.py` do) and is used on the
load path only, never per request.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, NamedTuple

from logstore.records import CorruptRecordError, decode_records, iter_headers
from logstore.records.control import COMMIT, control_type

log = logging.getLogger(__name__)

_READ_CHUNK = 4 * 1024 * 1024


class Entry(NamedTuple):
    """One record; `producer_id` is -1 unless its batch was transactional."""

    offset: int
    producer_id: int
    producer_epoch: int
    key: bytes | None
    value: bytes | None


class Marker(NamedTuple):
    """The end of `producer_id`'s transaction on this partition."""

    offset: int
    producer_id: int
    commit: bool


def read(plog: Any) -> Iterator[Entry | Marker]:
    """Every record and marker of a partition from its log start, oldest first."""
    offset = plog.log_start_offset
    end = plog.log_end_offset
    while offset < end:
        data = plog.read(offset, _READ_CHUNK).to_bytes()
        if not data:
            return
        nxt = offset
        for pos, header in iter_headers(data):
            if header.last_offset < offset:
                continue
            nxt = header.last_offset + 1
            batch = memoryview(data)[pos : pos + header.size]
            if header.is_control:
                try:
                    kind = control_type(batch)
                except CorruptRecordError:
                    continue  # not a transaction marker
                yield Marker(header.base_offset, header.producer_id, kind == COMMIT)
                continue
            pid = header.producer_id if header.is_transactional else -1
            for rec in decode_records(batch):
                if rec.offset >= offset:
                    yield Entry(rec.offset, pid, header.producer_epoch, rec.key, rec.value)
        if nxt <= offset:
            return
        offset = nxt
