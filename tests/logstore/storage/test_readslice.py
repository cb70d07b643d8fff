"""ReadSlice as the server uses it: zero-copy `loop.sendfile` over a real local socket, and
`read_into` (the TLS path) filling exactly the caller's buffer."""

from __future__ import annotations

import asyncio

import pytest

from logstore.records import split_batches, validate_batch
from logstore.storage import LogManager

from .helpers import batch


async def test_sendfile_sends_exactly_the_slice(manager: LogManager) -> None:
    manager.create_topic("t", 1, {"index.interval.bytes": "100"})
    log = manager.log("t", 0)
    for i in range(50):
        log.append(batch(1 + i % 3, tag=str(i)))
    piece = log.read(10, 2000)
    expected = piece.to_bytes()
    received = bytearray()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        assert piece.file is not None
        await loop.sendfile(writer.transport, piece.file, piece.position, piece.size)
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while chunk := await asyncio.wait_for(reader.read(65536), timeout=10):
            received.extend(chunk)
        writer.close()
    piece.close()
    assert bytes(received) == expected
    views = split_batches(bytes(received))
    first = validate_batch(views[0])
    assert first.base_offset <= 10 <= first.last_offset
    assert len(received) <= 2000


def test_follow_on_reads_match_fresh_reads(manager: LogManager) -> None:
    """A consumer's next fetch starts where the last slice ended (the segment's read
    hint); it must return the same bytes as a lookup from scratch, even for a limit
    that cuts inside a batch and across rolls."""
    manager.create_topic("t", 1, {"index.interval.bytes": "100", "internal.segment.bytes": "900"})
    log = manager.log("t", 0)
    for i in range(60):
        log.append(batch(1 + i % 4, tag=str(i)))
    assert len(log.segments) > 3
    offset, pieces = 0, []
    while offset < log.log_end_offset:
        with log.read(offset, 250) as piece:
            pieces.append((offset, piece.to_bytes(), piece.next_offset))
            offset = piece.next_offset
    for offset, data, next_offset in pieces:
        # A read at an unrelated offset first drops the hint, so this one looks it up.
        log.read(log.log_end_offset - 1, 10).close()
        with log.read(offset, 250) as fresh:
            assert (fresh.to_bytes(), fresh.next_offset) == (data, next_offset)
    assert b"".join(d for _, d, _ in pieces) == b"".join(
        s.log_path.read_bytes() for s in log.segments
    )


def test_read_hint_is_dropped_when_compaction_rewrites_the_segment(
    manager: LogManager,
) -> None:
    manager.create_topic(
        "c",
        1,
        {
            "cleanup.policy": "compact",
            "internal.segment.bytes": "700",
            "min.cleanable.dirty.ratio": "0.01",
        },
    )
    log = manager.log("c", 0)
    # Small batches with unique keys survive; big ones with a repeated key do not, so
    # cleaning moves every surviving batch after the first to a new position.
    sizes = []
    for i in range(30):
        data = batch(1, key=b"u%d" % i, size=20) if i % 2 == 0 else batch(1, key=b"d", size=120)
        sizes.append(len(data))
        log.append(data)
    assert log.segments[0].next_offset > 3
    with log.read(0, sizes[0] + sizes[1]) as piece:
        assert piece.next_offset == 2  # the hint: offset 2 at the old position
    assert manager.tick()["cleaned"] == 1
    with log.read(2, 1 << 20) as piece:
        first = validate_batch(piece.to_bytes()[: sizes[2]])
    assert first.base_offset == 2


def test_read_into_fills_the_buffer_or_refuses(manager: LogManager) -> None:
    manager.create_topic("t", 1)
    log = manager.log("t", 0)
    for i in range(20):
        log.append(batch(2, tag=str(i)))
    piece = log.read(5, 1 << 20)
    expected = piece.to_bytes()
    buf = bytearray(b"x" * (piece.size + 8))
    piece.read_into(memoryview(buf)[4 : 4 + piece.size])
    assert buf[4:-4] == expected
    assert buf[:4] == buf[-4:] == b"xxxx"
    with pytest.raises(ValueError, match="buffer of"):
        piece.read_into(memoryview(bytearray(piece.size - 1)))
    piece.close()
    with pytest.raises(ValueError, match="closed"):
        piece.read_into(memoryview(bytearray(piece.size)))
    empty = log.read(log.log_end_offset, 1 << 20)
    assert empty.size == 0
    empty.read_into(memoryview(bytearray()))


def test_a_read_not_bound_to_return_a_batch_is_empty_when_the_first_does_not_fit(
    manager: LogManager,
) -> None:
    """What a fetch asks of every partition after the first with data (KIP-74): whole
    batches within the limit or nothing. The refused batch is asked for again by the
    client's next fetch, so a later read from there must return what a fresh one does."""
    manager.create_topic("t", 1, {"index.interval.bytes": "100", "internal.segment.bytes": "900"})
    log = manager.log("t", 0)
    for i in range(40):
        log.append(batch(1 + i % 3, size=20 + 15 * (i % 4), tag=str(i)))
    assert len(log.segments) > 3
    offset = 0
    while offset < log.log_end_offset:
        # Fresh lookups: the one batch at `offset`, and where the next one starts.
        log.read(log.log_end_offset - 1, 10).close()
        with log.read(offset, 1) as alone:
            size, after, data = alone.size, alone.next_offset, alone.to_bytes()
        for at in range(offset, after):  # from the batch's start and from inside it
            log.read(log.log_end_offset - 1, 10).close()
            with log.read(at, size - 1, min_one=False) as refused:
                assert (refused.size, refused.next_offset) == (0, -1)
                with pytest.raises(ValueError):
                    refused.fileno()
            # Asked again, as the client's next fetch does: now with room for it.
            with log.read(at, size, min_one=False) as fits:
                assert (fits.to_bytes(), fits.next_offset) == (data, after)
            log.read(at, size - 1, min_one=False).close()
            with log.read(at, size - 1) as forced:
                assert (forced.to_bytes(), forced.next_offset) == (data, after)
        offset = after
