"""ReadSlice as the server uses it: zero-copy `loop.sendfile` over a real local socket."""

from __future__ import annotations

import asyncio

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
