"""Control batches: the layout Kafka writes, read back by the project's own header parser."""

from __future__ import annotations

import struct

import pytest

from logstore.records import CorruptRecordError, build_batch, validate_batch
from logstore.records.control import ABORT, COMMIT, build_control_batch, control_type
from logstore.records.record import decode_records


@pytest.mark.parametrize("commit", [True, False])
def test_marker_layout_matches_kafkas(commit: bool) -> None:
    data = build_control_batch(4000, 7, commit=commit, coordinator_epoch=3, timestamp=1234)
    header = validate_batch(data)  # CRC and lengths
    assert header.is_control
    assert header.is_transactional
    assert (header.producer_id, header.producer_epoch, header.base_sequence) == (4000, 7, -1)
    assert header.last_offset_delta == 0
    (record,) = decode_records(data)
    assert record.key == struct.pack(">hh", 0, 1 if commit else 0)
    assert record.value == struct.pack(">hi", 0, 3)
    assert record.timestamp == 1234
    assert control_type(data) == (COMMIT if commit else ABORT)


def test_a_data_batch_is_not_a_marker() -> None:
    with pytest.raises(CorruptRecordError):
        control_type(build_batch([(b"k", b"v")], transactional=True, producer_id=1))
