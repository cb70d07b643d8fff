"""Hypothesis: random appends, rolls, retention, DeleteRecords and reopens (clean or not)
keep offsets contiguous and every read returning whole, valid batches."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from logstore.clock import ManualClock
from logstore.records import build_batch, split_batches, validate_batch
from logstore.storage import LogManager
from logstore.storage.checkpoints import CLEAN_SHUTDOWN

from .helpers import read_all


class LogMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="odradek-hyp-"))
        self.clock = ManualClock()
        self.mgr = LogManager(self.dir, clock=self.clock, fsync="never").open()
        self.mgr.create_topic(
            "h",
            1,
            {
                "internal.segment.bytes": "700",
                "index.interval.bytes": "150",
                "retention.ms": "5000",
            },
        )
        self.values: dict[int, bytes] = {}
        self.start = 0

    @property
    def log(self):
        return self.mgr.log("h", 0)

    def teardown(self) -> None:
        self.mgr.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @rule(count=st.integers(1, 6), size=st.integers(0, 120), batches=st.integers(1, 3))
    def append(self, count: int, size: int, batches: int) -> None:
        data = b""
        values = []
        for b in range(batches):
            chunk = [
                (b"k", f"{len(self.values) + len(values) + i}:".encode().ljust(size, b"x"))
                for i in range(count)
            ]
            values.extend(v for _, v in chunk)
            data += build_batch(chunk, timestamp=self.clock.now_ms() + b)
        result = self.log.append(data)
        assert result.base_offset == len(self.values)
        assert result.last_offset == len(self.values) + len(values) - 1
        for i, value in enumerate(values):
            self.values[result.base_offset + i] = value

    @rule()
    def roll(self) -> None:
        self.log.roll()

    @rule(ms=st.integers(0, 4000))
    def time_passes(self, ms: int) -> None:
        self.clock.advance(ms)
        self.mgr.tick()

    @precondition(lambda self: self.values)
    @rule(fraction=st.floats(0, 1))
    def delete_records(self, fraction: float) -> None:
        target = self.log.log_start_offset + int(
            (self.log.log_end_offset - self.log.log_start_offset) * fraction
        )
        assert self.log.delete_records(target) == max(target, self.log.log_start_offset)

    @rule(clean=st.booleans())
    def reopen(self, clean: bool) -> None:
        self.mgr.close()
        if not clean:
            (self.dir / CLEAN_SHUTDOWN).unlink()
        self.mgr = LogManager(self.dir, clock=self.clock, fsync="never").open()
        assert self.log.recovery.error is None
        assert self.log.recovery.truncated_bytes == 0

    @precondition(lambda self: self.values)
    @rule(data=st.data(), max_bytes=st.integers(1, 3000))
    def random_read(self, data, max_bytes: int) -> None:
        log = self.log
        if log.log_start_offset == log.log_end_offset:
            return
        offset = data.draw(st.integers(log.log_start_offset, log.log_end_offset - 1))
        raw = log.read_batches(offset, max_bytes)
        views = split_batches(raw)  # validates length, magic and CRC of each
        first = validate_batch(views[0])
        assert first.base_offset <= offset <= first.last_offset
        assert len(raw) <= max(max_bytes, len(views[0]))
        expected = first.base_offset
        for view in views:
            header = validate_batch(view)
            assert header.base_offset == expected
            expected = header.last_offset + 1

    @invariant()
    def offsets_contiguous_and_values_intact(self) -> None:
        log = self.log
        assert log.log_end_offset == len(self.values)
        assert self.start <= log.log_start_offset <= log.log_end_offset
        self.start = log.log_start_offset
        records = read_all(log)
        first = records[0].offset if records else log.log_start_offset
        # Reads start at the batch holding the log start; nothing before it is kept whole.
        assert first <= log.log_start_offset
        assert [r.offset for r in records] == list(range(first, log.log_end_offset))
        assert all(self.values[r.offset] == r.value for r in records)


LogMachine.TestCase.settings = settings(
    max_examples=30, stateful_step_count=25, deadline=None, derandomize=False
)
test_log_machine = LogMachine.TestCase
