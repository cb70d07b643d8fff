"""What recovery tells an operator: each truncation once at WARNING (partition, offset of
the cut, bytes dropped, why), each partition left offline once at ERROR (partition, why),
and nothing at all after a stop that needed no repair."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from logstore.clock import ManualClock
from logstore.storage import KafkaStorageError, LogManager
from logstore.storage.checkpoints import CLEAN_SHUTDOWN

from .helpers import batch
from .test_recovery import BATCH, crash, fill, flip, segment_file

LOGGER = "logstore.storage.recovery"


def records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER]


def test_a_torn_tail_is_reported_once(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    fill(tmp_path, clock)
    os.truncate(segment_file(tmp_path, 4), BATCH + 7)  # the last batch cut short
    crash(tmp_path, 0)
    with caplog.at_level(logging.INFO, LOGGER), LogManager(tmp_path, clock=clock) as mgr:
        assert mgr.log("t", 0).log_end_offset == 5
    (record,) = records(caplog)
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert message.startswith("partition t-0: truncated at offset 5, 7 bytes dropped")
    assert "torn batch header" in message
    assert "00000000000000000004.log" in message
    caplog.clear()
    with caplog.at_level(logging.INFO, LOGGER), LogManager(tmp_path, clock=clock):
        pass
    assert records(caplog) == [], "a repaired partition is not reported again"


def test_a_cut_that_drops_later_segments_counts_their_bytes(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    fill(tmp_path, clock)
    flip(segment_file(tmp_path, 2), BATCH + 30)  # past the recovery point 3
    crash(tmp_path, 3)
    with caplog.at_level(logging.INFO, LOGGER), LogManager(tmp_path, clock=clock) as mgr:
        assert mgr.log("t", 0).log_end_offset == 3
    (record,) = records(caplog)
    assert record.levelno == logging.WARNING
    # The second batch of segment 2 plus the whole of segment 4 (two batches).
    assert f"truncated at offset 3, {3 * BATCH} bytes dropped (1 later segments" in (
        record.getMessage()
    )
    assert "CRC" in record.getMessage()


def test_damage_below_the_recovery_point_is_an_error_naming_the_partition(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    fill(tmp_path, clock)
    flip(segment_file(tmp_path, 2), 40)
    crash(tmp_path, 6)
    with caplog.at_level(logging.INFO, LOGGER), LogManager(tmp_path, clock=clock) as mgr:
        assert mgr.log("t", 0).offline
        assert not mgr.log("t", 1).offline
    (record,) = records(caplog)
    assert record.levelno == logging.ERROR
    message = record.getMessage()
    assert message.startswith("partition t-0 is offline: corrupt data below the recovery point")
    assert "00000000000000000002.log at offset 2" in message
    assert "(recovery point 6)" in message
    assert "KAFKA_STORAGE_ERROR (56)" in message


def test_a_clean_stop_with_a_damaged_older_segment_is_an_error_too(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    fill(tmp_path, clock)
    # A clean stop trusts the indexes; a missing one forces this segment's scan.
    segment_file(tmp_path, 0, "index").unlink()
    flip(segment_file(tmp_path, 0), 40)
    assert (tmp_path / CLEAN_SHUTDOWN).exists()
    with caplog.at_level(logging.INFO, LOGGER), LogManager(tmp_path, clock=clock) as mgr:
        assert mgr.log("t", 0).offline
    (record,) = records(caplog)
    assert record.levelno == logging.ERROR
    assert "partition t-0 is offline" in record.getMessage()


def test_an_undamaged_unclean_stop_logs_nothing(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    fill(tmp_path, clock)
    crash(tmp_path, None)
    with caplog.at_level(logging.INFO, LOGGER), LogManager(tmp_path, clock=clock):
        pass
    assert records(caplog) == []


def test_taking_a_running_partition_offline_is_logged_once(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    fill(tmp_path, clock)
    with caplog.at_level(logging.INFO, LOGGER), LogManager(tmp_path, clock=clock) as mgr:
        log = mgr.log("t", 1)
        log.take_offline("an I/O error swapping segment files")
        log.take_offline("a second failure")
        with pytest.raises(KafkaStorageError):
            log.read(0, 100)
    (record,) = records(caplog)
    assert record.levelno == logging.ERROR
    assert "partition t-1 is offline: an I/O error swapping segment files" in record.getMessage()


def set_base_offset(path: Path, position: int, value: int) -> None:
    data = bytearray(path.read_bytes())
    data[position : position + 8] = value.to_bytes(8, "big", signed=True)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("base", "why"),
    [
        (0, "below the expected 3"),  # moved back: offsets would repeat
        (2**62 + 3, "beyond the segment's range"),  # a high bit flipped
        (5, "beyond the segment's range"),  # into the next segment's offsets
    ],
)
def test_a_wrong_base_offset_passes_the_crc_but_not_the_scan(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture, base: int, why: str
) -> None:
    """baseOffset lies outside the CRC: the scan checks it against its neighbours."""
    fill(tmp_path, clock)
    set_base_offset(segment_file(tmp_path, 2), BATCH, base)  # the batch at offset 3
    crash(tmp_path, 6)
    with caplog.at_level(logging.INFO, LOGGER), LogManager(tmp_path, clock=clock) as mgr:
        log = mgr.log("t", 0)
        assert log.offline
        assert why in (log.recovery_error or "")
        assert "at offset 3" in (log.recovery_error or "")
    (record,) = records(caplog)
    assert record.levelno == logging.ERROR


def test_a_wrong_base_offset_past_the_recovery_point_is_cut_there(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    fill(tmp_path, clock)
    set_base_offset(segment_file(tmp_path, 4), BATCH, 2**40)
    crash(tmp_path, 4)
    with caplog.at_level(logging.INFO, LOGGER), LogManager(tmp_path, clock=clock) as mgr:
        log = mgr.log("t", 0)
        assert not log.offline
        assert log.log_end_offset == 5
        assert log.append(batch(1)).base_offset == 5
    (record,) = records(caplog)
    assert "truncated at offset 5" in record.getMessage()


def test_repair_by_giving_up_the_damaged_segment_and_older_ones(
    tmp_path: Path, clock: ManualClock
) -> None:
    """The first procedure in docs/reliability.md: offsets are never reused."""
    fill(tmp_path, clock)
    flip(segment_file(tmp_path, 2), 40)
    crash(tmp_path, 6)
    with LogManager(tmp_path, clock=clock) as mgr:
        assert mgr.log("t", 0).offline
    for base in (0, 2):
        for ext in ("log", "index", "timeindex"):
            segment_file(tmp_path, base, ext).unlink(missing_ok=True)
    with LogManager(tmp_path, clock=clock) as mgr:
        log = mgr.log("t", 0)
        assert not log.offline
        assert (log.log_start_offset, log.log_end_offset) == (4, 6)
        assert log.append(batch(1)).base_offset == 6


def test_repair_by_cutting_the_last_segment_at_the_reported_position(
    tmp_path: Path, clock: ManualClock
) -> None:
    """The second procedure: the damaged segment is the last one."""
    fill(tmp_path, clock)
    flip(segment_file(tmp_path, 4), BATCH + 40)
    crash(tmp_path, 6)
    with LogManager(tmp_path, clock=clock) as mgr:
        reason = mgr.log("t", 0).recovery_error or ""
    position = int(reason.rsplit("file position ", 1)[1].rstrip(")"))
    assert position == BATCH
    os.truncate(segment_file(tmp_path, 4), position)
    with LogManager(tmp_path, clock=clock) as mgr:
        log = mgr.log("t", 0)
        assert not log.offline
        assert (log.log_start_offset, log.log_end_offset) == (0, 5)
