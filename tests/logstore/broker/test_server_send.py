"""Replies reach the socket intact, record slices by sendfile, on both event loops; without
zero-copy (TLS) a reply is read into one buffer and written once."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
import uvloop

from logstore.broker.api import RawReply
from logstore.server.send import ReplyWriter
from logstore.storage.readslice import ReadSlice

SIZE = 6 * 1024 * 1024  # larger than a socket buffer: forces the "socket full" path


async def _serve_and_read(
    file_path: Path, position: int, size: int, *, zero_copy: bool = True, writes: list | None = None
) -> tuple[bytes, ReplyWriter]:
    writers: list[ReplyWriter] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if writes is not None:
            # Watch what reaches the transport: each write is its own pass (and, on TLS,
            # its own records) through the transport.
            write = writer.write
            writer.write = lambda data: (writes.append(len(data)), write(data))[1]  # type: ignore[method-assign]
        replies = ReplyWriter(writer, zero_copy=zero_copy)
        writers.append(replies)
        fd = os.open(file_path, os.O_RDONLY)
        try:
            piece = ReadSlice(fd, position, size)
        finally:
            os.close(fd)
        await replies.send(RawReply([b"head", piece, b"tail"], 8 + size))
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = await asyncio.wait_for(reader.read(-1), 30)
    writer.close()
    server.close()
    await server.wait_closed()
    return data, writers[0]


def _send_segment(
    tmp_path: Path, loop_kind: str, *, zero_copy: bool, writes: list | None
) -> ReplyWriter:
    """Send "head" + SIZE bytes of a segment file + "tail"; checks what arrived."""
    content = os.urandom(SIZE + 1000)
    path = tmp_path / "segment.log"
    path.write_bytes(content)
    runner = asyncio.run if loop_kind == "asyncio" else uvloop.run
    data, replies = runner(_serve_and_read(path, 1000, SIZE, zero_copy=zero_copy, writes=writes))
    assert data == b"head" + content[1000:] + b"tail"
    return replies


@pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])
def test_slices_are_sent_intact_and_without_copies(tmp_path: Path, loop_kind: str) -> None:
    replies = _send_segment(tmp_path, loop_kind, zero_copy=True, writes=None)
    assert replies.zero_copy_bytes + replies.copied_bytes == SIZE
    assert replies.zero_copy_bytes > SIZE // 2


@pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])
def test_without_zero_copy_a_reply_is_one_write(tmp_path: Path, loop_kind: str) -> None:
    writes: list[int] = []
    replies = _send_segment(tmp_path, loop_kind, zero_copy=False, writes=writes)
    assert (replies.zero_copy_bytes, replies.copied_bytes) == (0, SIZE)
    assert writes == [8 + SIZE]


def test_slice_without_file_is_sent_by_copy(tmp_path: Path) -> None:
    class Bytes:
        size = 3

        def to_bytes(self) -> bytes:
            return b"xyz"

    async def run() -> bytes:
        async def on_connect(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await ReplyWriter(writer).send(RawReply([b"a", Bytes()], 4))
            writer.close()

        server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", server.sockets[0].getsockname()[1]
        )
        data = await asyncio.wait_for(reader.read(-1), 10)
        writer.close()
        server.close()
        return data

    assert uvloop.run(run()) == b"axyz"
