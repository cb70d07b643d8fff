"""`ReadSlice`: a byte range of whole batches inside one segment file, ready to send as-is.

Owns a private duplicate of the segment's descriptor, so the slice stays readable even if
retention or compaction unlinks the file right after the read. It must never parse or copy
batches except in `to_bytes()`, which exists for callers that cannot use sendfile.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import BinaryIO


class ReadSlice:
    """`size` bytes at `position` of `file`; `size == 0` means nothing to return."""

    __slots__ = ("file", "next_offset", "position", "size")

    def __init__(
        self, fd: int | None = None, position: int = 0, size: int = 0, next_offset: int = -1
    ) -> None:
        # fdopen owns the dup'd descriptor: closed by close() or when garbage-collected.
        self.file: BinaryIO | None = (
            os.fdopen(os.dup(fd), "rb", buffering=0) if fd is not None and size else None
        )
        self.position = position
        self.size = size
        # The offset after the slice's last batch (where the next read starts), -1 if empty.
        self.next_offset = next_offset

    def fileno(self) -> int:
        """The descriptor to hand to `os.sendfile` / `loop.sendfile` (ValueError if empty)."""
        if self.file is None:
            raise ValueError("empty read slice has no file")
        return self.file.fileno()

    def to_bytes(self) -> bytes:
        """The slice's bytes (one pread; a copy, so prefer sendfile on plain TCP)."""
        if self.file is None:
            return b""
        fd = self.file.fileno()
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
        if self.file is not None:
            self.file.close()
            self.file = None

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
