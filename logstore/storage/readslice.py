"""`ReadSlice`: a byte range of whole batches inside one segment file, ready to send as-is.

Owns a private duplicate of the segment's descriptor (closed by `close()` or when
garbage-collected), so the slice stays readable even if
retention or compaction unlinks the file right after the read. It must never parse or copy
batches except in `to_bytes()`, which exists for callers that cannot use sendfile.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import BinaryIO


class ReadSlice:
    """`size` bytes at `position` of `file`; `size == 0` means nothing to return."""

    __slots__ = ("_fd", "_file", "next_offset", "position", "size")

    def __init__(
        self, fd: int | None = None, position: int = 0, size: int = 0, next_offset: int = -1
    ) -> None:
        # A raw dup'd descriptor: a file object costs microseconds per fetch, so it is
        # made only when asked for (`file`, for loop.sendfile) and then owns the descriptor.
        self._fd: int | None = os.dup(fd) if fd is not None and size else None
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
        """The descriptor to hand to `os.sendfile` / `loop.sendfile` (ValueError if empty)."""
        if self._fd is None:
            raise ValueError("empty read slice has no file")
        return self._fd

    def to_bytes(self) -> bytes:
        """The slice's bytes (one pread; a copy, so prefer sendfile on plain TCP)."""
        fd = self._fd
        if fd is None:
            return b""
        parts = []
        pos, remaining = self.position, self.size
        while remaining:
            chunk = os.pread(fd, remaining, pos)
            if not chunk:
                raise OSError(f"segment shorter than the slice at {pos}")
            parts.append(chunk)
            pos += len(chunk)
            remaining -= len(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def close(self) -> None:
        """Release the duplicated descriptor (idempotent)."""
        if self._file is not None:
            self._file.close()
        elif self._fd is not None:
            os.close(self._fd)
        self._file = None
        self._fd = None

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
