"""Making a file appear atomically and durably: the one helper every package writes state with.

Owns the temporary-sibling, fsync, rename, fsync-the-directory sequence. It is a leaf: it
imports nothing of logstore, so storage, producers, groups and the server may all use it
without crossing a layer. It must never know what the bytes mean.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


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
    If that fails before the rename, the sibling is removed and the error raised. With
    `durable=False` the rename is still atomic but a crash may lose the new content.
    """
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        # A refused write (no room, a failed fsync) leaves no half-written sibling behind.
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(path.parent)
