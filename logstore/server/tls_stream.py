"""The protocol a TLS connection's stream is read through: a `BufferedProtocol` in front of
asyncio's `StreamReaderProtocol`, so that the event loop's TLS layer decrypts into one
reused buffer.

Given a plain `Protocol`, the TLS layer (uvloop's and asyncio's alike) allocates a new
bytes object per TLS record it decrypts (uvloop sizes each at 256 KiB, then shrinks it)
and joins them before `data_received`; given a buffered protocol it decrypts straight
into the buffer this module lends, and the stream copies from there once. Owns that
buffer and the forwarding of every other callback to the wrapped protocol, unchanged. It
must never read frames, nor keep data past `buffer_updated`.
"""

from __future__ import annotations

import asyncio

# What one get_buffer lends: as much as the TLS layer decrypts in one pass (uvloop reads
# at most 256 KiB of ciphertext per socket read).
BUFFER_BYTES = 256 * 1024


class BufferedStreamProtocol(asyncio.BufferedProtocol):
    """Feeds `inner`'s StreamReader from a reused buffer; `inner` stays the protocol the
    StreamWriter drains through."""

    def __init__(self, inner: asyncio.StreamReaderProtocol) -> None:
        self.inner = inner
        self._buffer = bytearray(BUFFER_BYTES)
        self._view = memoryview(self._buffer)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.inner.connection_made(transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        # feed_data copies into the StreamReader's own buffer (bytearray.extend takes any
        # buffer, though typeshed says bytes), so the lent one is free again at return.
        self.inner.data_received(self._view[:nbytes])  # type: ignore[arg-type]

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()
