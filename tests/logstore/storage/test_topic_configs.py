"""Topic configs that change what storage does: segment.jitter.ms, flush.messages,
flush.ms and the compression levels used when a topic recompresses."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from logstore.clock import ManualClock
from logstore.records import GZIP, ZSTD, build_batch, decode_records, split_batches
from logstore.records.header import parse_header
from logstore.storage import LogManager
from logstore.storage.background import InlineExecutor

from .helpers import batch


class FixedDraw(random.Random):
    """A random source whose draws are a fixed number (capped below the bound)."""

    def __init__(self, value: int) -> None:
        super().__init__(0)
        self.value = value
        self.bounds: list[int] = []

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:  # type: ignore[override]
        self.bounds.append(start)
        return min(self.value, start - 1)


def make(tmp_path: Path, clock: ManualClock, draw: int = 0) -> tuple[LogManager, FixedDraw]:
    rng = FixedDraw(draw)
    mgr = LogManager(
        tmp_path,
        clock=clock,
        fsync="never",
        rng=rng,
        cleaner_executor=InlineExecutor(),
        io_executor=InlineExecutor(),
    ).open()
    return mgr, rng


@pytest.fixture
def jittery(tmp_path: Path, clock: ManualClock) -> Iterator[tuple[LogManager, FixedDraw]]:
    mgr, rng = make(tmp_path, clock, draw=3000)
    yield mgr, rng
    mgr.close()


def test_segment_jitter_is_subtracted_from_segment_ms(
    jittery: tuple[LogManager, FixedDraw], clock: ManualClock
) -> None:
    mgr, rng = jittery
    mgr.create_topic(
        "t", 1, {"segment.ms": "10000", "segment.jitter.ms": "4000", "retention.ms": "-1"}
    )
    log = mgr.log("t", 0)
    assert rng.bounds == [4000]  # min(segment.jitter.ms, segment.ms), drawn per segment
    log.append(batch(1))
    clock.advance(6999)
    assert mgr.tick()["rolled"] == 0
    clock.advance(1)
    assert mgr.tick()["rolled"] == 1  # at 10000 - 3000
    assert len(rng.bounds) == 2, "the new active segment drew its own jitter"
    log.append(batch(1))
    clock.advance(6999)
    log.append(batch(1))
    assert len(log.segments) == 2
    clock.advance(1)
    log.append(batch(1))  # an append past the jittered deadline rolls too
    assert len(log.segments) == 3


def test_without_jitter_nothing_is_drawn(tmp_path: Path, clock: ManualClock) -> None:
    mgr, rng = make(tmp_path, clock, draw=3000)
    with closing(mgr):
        mgr.create_topic("t", 1, {"segment.ms": "10000", "retention.ms": "-1"})
        mgr.log("t", 0).append(batch(1))
        clock.advance(9999)
        assert mgr.tick()["rolled"] == 0
        assert rng.bounds == []


async def test_flush_messages_fsyncs_every_n_messages(tmp_path: Path, clock: ManualClock) -> None:
    mgr, _ = make(tmp_path, clock)
    with closing(mgr):
        mgr.create_topic("t", 1, {"flush.messages": "5"})
        log = mgr.log("t", 0)
        flushed = []
        for _ in range(12):
            result = log.append(batch(1))
            await mgr.wait_durable(log, result.last_offset)
            flushed.append(log.flushed_offset)
        # fsync=never, but the topic asks for an fsync once 5 messages are unflushed.
        assert flushed == [0, 0, 0, 0, 5, 5, 5, 5, 5, 10, 10, 10]
        assert mgr.stats["fsyncs"] == 2


def test_flush_ms_fsyncs_after_the_interval(tmp_path: Path, clock: ManualClock) -> None:
    mgr, _ = make(tmp_path, clock)
    with closing(mgr):
        mgr.create_topic("t", 1, {"flush.ms": "1000", "retention.ms": "-1"})
        mgr.create_topic("plain", 1, {"retention.ms": "-1"})
        log, plain = mgr.log("t", 0), mgr.log("plain", 0)
        for target in (log, plain):
            target.append(batch(3))
        clock.advance(999)
        mgr.tick()
        assert log.flushed_offset == 0
        clock.advance(1)
        mgr.tick()
        assert log.flushed_offset == 3
        assert plain.flushed_offset == 0, "the broker policy (never) still rules other topics"
        log.append(batch(2))
        clock.advance(500)
        mgr.tick()
        assert log.flushed_offset == 3
        clock.advance(500)
        mgr.tick()
        assert log.flushed_offset == 5


@pytest.mark.parametrize(
    ("codec", "name", "low", "high"),
    [("gzip", "compression.gzip.level", "1", "9"), ("zstd", "compression.zstd.level", "1", "19")],
)
def test_recompression_uses_the_topic_compression_level(
    manager: LogManager, codec: str, name: str, low: str, high: str
) -> None:
    # Compressible but not trivially so: the levels give different outputs.
    rng = random.Random(7)
    words = [b"alpha", b"beta", b"gamma", b"delta", b"epsilon", b"zeta", b"eta", b"theta"]
    records = [(None, b" ".join(rng.choice(words) for _ in range(60))) for _ in range(50)]
    data = build_batch(records, timestamp=1)
    stored = {}
    for level in (low, high):
        topic = f"{codec}-{level}"
        manager.create_topic(topic, 1, {"compression.type": codec, name: level})
        log = manager.log(topic, 0)
        log.append(data)
        stored[level] = log.read_batches(0, 1 << 20)
    expected_codec = {"gzip": GZIP, "zstd": ZSTD}[codec]
    for raw in stored.values():
        (view,) = split_batches(raw)
        assert parse_header(view).compression == expected_codec
        assert [r.value for r in decode_records(view)] == [v for _, v in records]
    assert stored[low] != stored[high]
    assert len(stored[high]) < len(stored[low])


def test_flush_messages_without_waiters_is_fsynced_by_the_tick(
    tmp_path: Path, clock: ManualClock
) -> None:
    """acks=0/1 writes never call wait_durable; the next tick fsyncs for them."""
    mgr, _ = make(tmp_path, clock)
    with closing(mgr):
        mgr.create_topic("t", 1, {"flush.messages": "5", "retention.ms": "-1"})
        log = mgr.log("t", 0)
        log.append(batch(4))
        mgr.tick()
        assert log.flushed_offset == 0
        log.append(batch(1))
        mgr.tick()
        assert log.flushed_offset == 5
