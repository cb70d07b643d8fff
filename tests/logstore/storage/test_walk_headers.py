"""`PartitionLog.walk_headers`: every batch header from an offset, across segments."""

from __future__ import annotations

from logstore.clock import ManualClock
from logstore.records import build_batch, parse_header
from logstore.storage import LogManager


def test_walks_every_batch_from_an_offset_across_segments(
    manager: LogManager, clock: ManualClock
) -> None:
    manager.create_topic("w", 1)
    log = manager.log("w", 0)
    big = build_batch([(None, b"x" * 200_000)], timestamp=0)  # larger than a header read
    small = build_batch([(None, b"s")] * 3, timestamp=0)
    expected = []
    for i in range(6):
        batch = big if i % 2 else small
        expected.append(log.append(batch).base_offset)
        if i == 2:
            log.roll()
    walked = [(h.base_offset, h.records_count) for h, _ in log.walk_headers(0)]
    assert [b for b, _ in walked] == expected
    assert [c for _, c in walked] == [3, 1, 3, 1, 3, 1]
    # From inside a batch: that batch first; each batch's bytes on demand.
    [(first, read), *rest] = list(log.walk_headers(expected[2] + 1))
    assert first.base_offset == expected[2]
    assert len(rest) == 3
    data = read()
    assert parse_header(data).base_offset == expected[2]
    assert data[12:] == small[12:]
    assert list(log.walk_headers(log.log_end_offset)) == []
