"""Transaction markers: Kafka's control batches (COMMIT / ABORT), built and read.

Owns the byte layout of a control batch as Kafka writes it: attributes transactional and
control, the producer's id and epoch, base sequence -1, one record whose key is
(int16 version 0, int16 type: 0 abort, 1 commit) and whose value is (int16 version 0,
int32 coordinator epoch). It must never append, look at partition state or touch the
network: the transaction coordinator appends what this builds, the log side reads what
this parses.
"""

from __future__ import annotations

import struct

from logstore.records.errors import CorruptRecordError
from logstore.records.header import Buffer, parse_header
from logstore.records.record import RecordEntry, decode_records, encode_batch

ABORT = 0
COMMIT = 1

_KEY = struct.Struct(">hh")
_VALUE = struct.Struct(">hi")


def build_control_batch(
    producer_id: int,
    producer_epoch: int,
    *,
    commit: bool,
    coordinator_epoch: int = 0,
    timestamp: int,
    base_offset: int = 0,
) -> bytes:
    """One marker batch ending `producer_id`'s transaction on one partition."""
    key = _KEY.pack(0, COMMIT if commit else ABORT)
    value = _VALUE.pack(0, coordinator_epoch)
    return encode_batch(
        [RecordEntry(0, timestamp, key, value)],
        base_offset=base_offset,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_sequence=-1,
        transactional=True,
        control=True,
    )


def control_type(batch: Buffer) -> int:
    """ABORT or COMMIT for a control batch (raises CorruptRecordError when it is not one).

    Kafka's readers take the type from the key of the batch's first record; any other
    control type (KRaft's) is not a transaction marker and is refused here.
    """
    return read_marker(batch)[0]


def read_marker(batch: Buffer) -> tuple[int, int]:
    """(ABORT or COMMIT, coordinator epoch) of a marker; CorruptRecordError if not one."""
    header = parse_header(batch)
    if not header.is_control:
        raise CorruptRecordError("not a control batch")
    records = decode_records(batch)
    if not records or records[0].key is None or len(records[0].key) < _KEY.size:
        raise CorruptRecordError("control batch without a control record key")
    _version, kind = _KEY.unpack_from(records[0].key)
    if kind not in (ABORT, COMMIT):
        raise CorruptRecordError(f"control type {kind} is not a transaction marker")
    value = records[0].value
    epoch = _VALUE.unpack_from(value)[1] if value is not None and len(value) >= _VALUE.size else -1
    return kind, epoch
