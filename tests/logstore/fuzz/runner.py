"""The fuzz run: mutated frames over many concurrent connections, with a health check.

Owns the client side of a fuzz run against a broker at 127.0.0.1: `connections` workers,
each with its own seeded `Mutator`, send one hostile frame at a time and wait briefly for
a reply or for the broker to close the connection (then reconnect); a health task sends
ApiVersions every `health_every` seconds on its own connection and records every answer
slower than `health_limit` (or missing) as a failure. Used by the bounded test and by
`bench/fuzz.py`. It must never start or stop brokers and never connect off-host.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import re
import struct
import time
from collections.abc import Sequence
from pathlib import Path

from tests.logstore.fuzz.mutate import Mutator

CORPUS = Path(__file__).with_name("corpus.hex")
REPLY_WAIT_S = 0.5  # a silent frame (acks=0, long poll, a prefix that lies) is abandoned
CONNECT_WAIT_S = 2.0
_API_VERSIONS_V0 = struct.pack(">ihhih", 10, 18, 0, 0x7FFF0000, -1)


_RECORD_START = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def traceback_records(log: str) -> list[str]:
    """Every log record (a timestamped line and its continuation lines) holding a traceback."""
    records: list[list[str]] = []
    for line in log.splitlines():
        if _RECORD_START.match(line) or not records:
            records.append([line])
        else:
            records[-1].append(line)
    return ["\n".join(r) for r in records if any(x.startswith("Traceback (") for x in r)]


def load_corpus(path: Path = CORPUS) -> list[bytes]:
    """Corpus bodies (no length prefix), one hex line each; '#' starts a comment."""
    lines = path.read_text().splitlines()
    return [bytes.fromhex(line.split()[0]) for line in lines if line and not line.startswith("#")]


@dataclasses.dataclass
class Stats:
    frames: int = 0
    replies: int = 0
    closed: int = 0
    silent: int = 0
    connect_errors: int = 0
    health_checks: int = 0
    health_failures: list[str] = dataclasses.field(default_factory=list)
    hangs: int = 0  # health checks unanswered within the limit
    slowest_health_s: float = 0.0

    def line(self) -> str:
        return (
            f"frames={self.frames} replies={self.replies} closed={self.closed} "
            f"silent={self.silent} connect_errors={self.connect_errors} "
            f"health_checks={self.health_checks} health_failures={len(self.health_failures)} "
            f"hangs={self.hangs} "
            f"slowest_health={self.slowest_health_s * 1000:.0f}ms"
        )


async def _close(writer: asyncio.StreamWriter | None) -> None:
    if writer is not None:
        writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.wait_closed(), 1.0)


async def _worker(
    port: int, mutator: Mutator, stats: Stats, stop: asyncio.Event, max_frames: int | None
) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    try:
        while not stop.is_set():
            if max_frames is not None and stats.frames >= max_frames:
                stop.set()
                return
            if writer is None:
                try:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection("127.0.0.1", port), CONNECT_WAIT_S
                    )
                except (OSError, TimeoutError):
                    stats.connect_errors += 1
                    await asyncio.sleep(0.05)  # the listener is saturated: back off a moment
                    continue
            assert reader is not None
            try:
                writer.write(mutator.frame())
                stats.frames += 1
                head = await asyncio.wait_for(reader.readexactly(4), REPLY_WAIT_S)
                (size,) = struct.unpack(">i", head)
                await asyncio.wait_for(reader.readexactly(size), REPLY_WAIT_S)
                stats.replies += 1
            except (asyncio.IncompleteReadError, ConnectionError):
                stats.closed += 1
                await _close(writer)
                writer = None
            except TimeoutError:
                stats.silent += 1
                await _close(writer)
                writer = None
    finally:
        await _close(writer)


async def _health(port: int, stats: Stats, stop: asyncio.Event, every: float, limit: float) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    try:
        while not stop.is_set():
            started = time.monotonic()
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection("127.0.0.1", port), limit
                    )
                assert reader is not None
                writer.write(_API_VERSIONS_V0)
                head = await asyncio.wait_for(reader.readexactly(8), limit)
                (size, correlation) = struct.unpack(">ii", head)
                await asyncio.wait_for(reader.readexactly(size - 4), limit)
                if correlation != 0x7FFF0000:
                    raise ValueError(f"correlation id {correlation}")
            except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError) as exc:
                stats.hangs += isinstance(exc, TimeoutError)
                stats.health_failures.append(
                    f"{time.strftime('%H:%M:%S')} after {time.monotonic() - started:.2f}s: "
                    f"{type(exc).__name__} {exc}"
                )
                await _close(writer)
                writer = None
            else:
                elapsed = time.monotonic() - started
                stats.slowest_health_s = max(stats.slowest_health_s, elapsed)
                if elapsed > limit:
                    stats.hangs += 1
                    stats.health_failures.append(f"ApiVersions took {elapsed:.2f}s")
            stats.health_checks += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
    finally:
        await _close(writer)


async def fuzz(
    port: int,
    corpus: Sequence[bytes],
    *,
    seconds: float,
    seed: int,
    connections: int = 32,
    max_frames: int | None = None,
    health_every: float = 0.1,
    health_limit: float = 1.0,
    stats: Stats | None = None,
) -> Stats:
    """Fuzz the broker on `port` for `seconds` (or `max_frames`); returns the counts."""
    stats = stats or Stats()
    stop = asyncio.Event()
    workers = [
        asyncio.create_task(
            _worker(port, Mutator(corpus, random.Random(seed * 1000 + i)), stats, stop, max_frames)
        )
        for i in range(connections)
    ]
    health = asyncio.create_task(_health(port, stats, stop, health_every, health_limit))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    stop.set()
    await asyncio.gather(*workers, health)
    return stats
