"""Small file-system helpers: atomic writes, directory fsync, and an LRU of read handles.

Owns how we make a file appear atomically and how many read descriptors stay open. It must
never know about batches, offsets or topics.
"""

from __future__ import annotations

import contextlib
import os
from collections import OrderedDict
from pathlib import Path


def fsync_and_close(fds: list[int]) -> None:
    """fsync every descriptor, then close them all (even when an fsync fails)."""
    try:
        for fd in fds:
            os.fsync(fd)
    finally:
        for fd in fds:
            os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make a directory entry change (create, rename, unlink) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write `data` to `path` so readers see the old or the new file, never a mix.

    Writes a temporary sibling, fsyncs it, renames it over `path`, then fsyncs the directory.
    """
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if durable:
        fsync_dir(path.parent)


class HandleCache:
    """Read-only descriptors for closed segment files, least recently used closed first.

    Bounds open files with thousands of partitions. Callers that must outlive eviction (a
    ReadSlice being sent) take `os.dup` of the descriptor.
    """

    def __init__(self, capacity: int = 256) -> None:
        self.capacity = capacity
        self._fds: OrderedDict[Path, int] = OrderedDict()

    def get(self, path: Path) -> int:
        """An open read-only descriptor for `path` (FileNotFoundError if it is gone)."""
        fd = self._fds.get(path)
        if fd is not None:
            self._fds.move_to_end(path)
            return fd
        fd = os.open(path, os.O_RDONLY)
        self._fds[path] = fd
        while len(self._fds) > self.capacity:
            _, old = self._fds.popitem(last=False)
            os.close(old)
        return fd

    def evict(self, path: Path) -> None:
        """Close the descriptor of a file about to be deleted, renamed or rewritten."""
        fd = self._fds.pop(path, None)
        if fd is not None:
            os.close(fd)

    def clear(self) -> None:
        """Close every cached descriptor (shutdown)."""
        for fd in self._fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()

    def __len__(self) -> int:
        return len(self._fds)
