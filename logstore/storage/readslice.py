"""`ReadSlice`: a byte range of whole batches inside one segment file, ready to send as-is.

Owns a private duplicate of the segment's descriptor (closed by `close()` or when
garbage-collected), so the slice stays readable even if retention or compaction unlinks the
file right after the read. When the descriptor cache says enough duplicates are already
out, the slice copies its bytes at once instead (a fetch across thousands of partitions
must not run the process out of files). It must never parse or copy batches otherwise,
except in `to_bytes()` and `read_into()`, which exist for callers that cannot use
sendfile.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from logstore.storage.files import HandleCache


class ReadSlice:
    """`size` bytes at `position` of `file`; `size == 0` means nothing to return."""

    __slots__ = ("_copy", "_fd", "_file", "_handles", "next_offset", "position", "size")

    def __init__(
        self,
        fd: int | None = None,
        position: int = 0,
        size: int = 0,
        next_offset: int = -1,
        handles: HandleCache | None = None,
    ) -> None:
        # A raw dup'd descriptor: a file object costs microseconds per fetch, so it is
        # made only when asked for (`file`, for loop.sendfile) and then owns the descriptor.
        self._fd: int | None = None
        self._copy: bytes | None = None
        self._handles = handles
        if fd is not None and size:
            self._fd = os.dup(fd) if handles is None else handles.take_dup(fd)
            if self._fd is None:
                self._handles = None
                self._copy = _pread_all(fd, position, size)
        self._file: BinaryIO | None = None
        self.position = position
        self.size = size
        # The offset after the slice's last batch (where the next read starts), -1 if empty.
        self.next_offset = next_offset

    @property
    def file(self) -> BinaryIO | None:
        """A file object over the slice's descriptor (None if empty or closed)."""
        if self._file is None and self._fd is not None:
            self._file = os.fdopen(self._fd, "rb", buffering=0)
        return self._file

    def fileno(self) -> int:
        """The descriptor to hand to `os.sendfile` / `loop.sendfile` (ValueError if empty
        or already copied into memory)."""
        if self._fd is None:
            raise ValueError("read slice has no file")
        return self._fd

    def to_bytes(self) -> bytes:
        """The slice's bytes (one pread; a copy, so prefer sendfile on plain TCP)."""
        if self._copy is not None:
            return self._copy
        fd = self._fd
        if fd is None:
            return b""
        return _pread_all(fd, self.position, self.size)

    def read_into(self, buf: memoryview) -> None:
        """Fill `buf` (exactly `size` bytes long) with the slice's bytes, with no
        intermediate bytes object (for senders that cannot use sendfile)."""
        if len(buf) != self.size:
            raise ValueError(f"buffer of {len(buf)} bytes for a slice of {self.size}")
        if not self.size:
            return
        if self._copy is not None:
            buf[:] = self._copy
            return
        fd = self._fd
        if fd is None:
            raise ValueError("read slice is closed")
        done = 0
        while done < self.size:
            n = os.preadv(fd, [buf[done:]], self.position + done)
            if n <= 0:
                raise OSError(f"segment shorter than the slice at {self.position + done}")
            done += n

    def close(self) -> None:
        """Release the duplicated descriptor (idempotent)."""
        if self._file is not None:
            self._file.close()
        elif self._fd is not None:
            os.close(self._fd)
        if self._fd is not None and self._handles is not None:
            self._handles.give_back()
        self._file = None
        self._fd = None
        self._copy = None

    def __del__(self) -> None:
        # Slices dropped without close() (an error mid-fetch) must not leak descriptors.
        self.close()

    def __enter__(self) -> ReadSlice:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"ReadSlice(position={self.position}, size={self.size})"


def _pread_all(fd: int, position: int, size: int) -> bytes:
    parts = []
    pos, remaining = position, size
    while remaining:
        chunk = os.pread(fd, remaining, pos)
        if not chunk:
            raise OSError(f"segment shorter than the slice at {pos}")
        parts.append(chunk)
        pos += len(chunk)
        remaining -= len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)
