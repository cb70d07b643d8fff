"""A FUSE filesystem over a real directory whose fsyncs fail or stall, or that has no
room, on command.

This is the failing disk the durability tests need: the broker writes through the kernel
to real files, and its real system calls answer EIO, block or answer ENOSPC when a test
says so. Nothing in the broker is patched.

`FaultFs` mounts SOURCE at MOUNTPOINT by running this module as a subprocess (a stuck
test cannot wedge the mount, and the mount goes when the process does). The control file
is JSON, `{"fail": [prefix, ...], "hold": [prefix, ...], "full": [prefix, ...]}`, read at
every fsync, mkdir, create and write. An fsync of a path under a `fail` prefix answers
EIO. One under a `hold` prefix blocks until the prefix is released. Under a `full`
prefix, mkdir, create and write answer ENOSPC. Paths are relative to the mount, e.g.
`orders-0/`.

It must never touch anything outside SOURCE, and never fake data: reads and writes go
straight to SOURCE's files.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

MOUNT_TIMEOUT_S = 20.0
# How often a held fsync rereads the control file.
HOLD_POLL_S = 0.01


class FaultFs:
    """One mounted fault filesystem; use as a context manager."""

    def __init__(self, source: Path, mountpoint: Path) -> None:
        self.source = source
        self.mountpoint = mountpoint
        self.control = source.parent / f"{mountpoint.name}.control.json"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> FaultFs:
        self.source.mkdir(parents=True, exist_ok=True)
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        self._write(fail=[], hold=[], full=[])
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.faultfs", str(self.source), str(self.mountpoint),
             str(self.control)],
            cwd=Path(__file__).resolve().parent.parent,
        )  # fmt: skip
        deadline = time.monotonic() + MOUNT_TIMEOUT_S
        while not os.path.ismount(self.mountpoint):
            if self._process.poll() is not None:
                raise RuntimeError(f"faultfs exited with {self._process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"faultfs did not mount {self.mountpoint}")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.heal()  # a held fsync must not keep the unmount waiting
        subprocess.run(["fusermount3", "-u", "-z", str(self.mountpoint)], check=False)
        if self._process is not None:
            try:
                self._process.wait(timeout=MOUNT_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def fail_fsync(self, *prefixes: str) -> None:
        """From now on, fsyncs under these prefixes answer EIO."""
        self._write(fail=list(prefixes))

    def hold_fsync(self, *prefixes: str) -> None:
        """From now on, fsyncs under these prefixes block until `heal`."""
        self._write(hold=list(prefixes))

    def fill(self, *prefixes: str) -> None:
        """From now on, mkdir, create and write under these prefixes answer ENOSPC."""
        self._write(full=list(prefixes))

    def heal(self) -> None:
        """Every operation succeeds again, and held fsyncs go on."""
        self._write(fail=[], hold=[], full=[])

    def _write(self, **changes: list[str]) -> None:
        control = _read_control(self.control) | changes
        tmp = self.control.with_suffix(".tmp")
        tmp.write_text(json.dumps(control))
        os.replace(tmp, self.control)


@pytest.fixture
def faultfs(tmp_path: Path) -> Iterator[FaultFs]:
    """A fault filesystem mounted at tmp_path/mnt over tmp_path/src, unmounted after."""
    with FaultFs(tmp_path / "src", tmp_path / "mnt") as fs:
        yield fs


def _read_control(path: Path) -> dict[str, list[str]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    return {key: list(data.get(key, [])) for key in ("fail", "hold", "full")}


def _serve(source: str, mountpoint: str, control: str) -> None:
    import mfusepy as fuse

    control_path = Path(control)

    def under(path: str, prefixes: list[str]) -> bool:
        relative = path.lstrip("/")
        return any(relative.startswith(prefix) for prefix in prefixes)

    def fault(path: str) -> None:
        while under(path, _read_control(control_path)["hold"]):
            time.sleep(HOLD_POLL_S)
        if under(path, _read_control(control_path)["fail"]):
            raise fuse.FuseOSError(errno.EIO)

    def room(path: str) -> None:
        if under(path, _read_control(control_path)["full"]):
            raise fuse.FuseOSError(errno.ENOSPC)

    class Passthrough(fuse.Operations):  # type: ignore[misc]
        use_ns = True

        def _real(self, path: str) -> str:
            return os.path.join(source, path.lstrip("/"))

        def getattr(self, path: str, fh: Any = None) -> dict[str, Any]:
            st = os.lstat(self._real(path))
            keys = ("st_mode", "st_nlink", "st_size", "st_uid", "st_gid")
            attrs: dict[str, Any] = {key: getattr(st, key) for key in keys}
            for key in ("st_atime", "st_mtime", "st_ctime"):
                attrs[key] = getattr(st, key + "_ns")
            return attrs

        def statfs(self, path: str) -> dict[str, Any]:
            st = os.statvfs(self._real(path))
            keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree",
                    "f_files", "f_flag", "f_frsize", "f_namemax")  # fmt: skip
            return {key: getattr(st, key) for key in keys}

        def readdir(self, path: str, fh: Any) -> list[str]:
            return [".", "..", *os.listdir(self._real(path))]

        def mkdir(self, path: str, mode: int) -> None:
            room(path + "/")
            os.mkdir(self._real(path), mode)

        def rmdir(self, path: str) -> None:
            os.rmdir(self._real(path))

        def unlink(self, path: str) -> None:
            os.unlink(self._real(path))

        def rename(self, old: str, new: str) -> None:
            os.rename(self._real(old), self._real(new))

        def chmod(self, path: str, mode: int) -> None:
            os.chmod(self._real(path), mode)

        def utimens(self, path: str, times: Any = None) -> None:
            os.utime(self._real(path), ns=times) if times else os.utime(self._real(path))

        def open(self, path: str, flags: int) -> int:
            return os.open(self._real(path), flags)

        def create(self, path: str, mode: int, fi: Any = None) -> int:
            room(path)
            return os.open(self._real(path), os.O_RDWR | os.O_CREAT, mode)

        def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
            return os.pread(fh, size, offset)

        def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
            room(path)
            return os.pwrite(fh, data, offset)

        def truncate(self, path: str, length: int, fh: Any = None) -> None:
            if fh is None:
                os.truncate(self._real(path), length)
            else:
                os.ftruncate(fh, length)

        def flush(self, path: str, fh: int) -> int:
            return 0

        def release(self, path: str, fh: int) -> int:
            os.close(fh)
            return 0

        def fsync(self, path: str, datasync: int, fh: int) -> int:
            fault(path)
            os.fsync(fh)
            return 0

        def opendir(self, path: str) -> int:
            return 0

        def releasedir(self, path: str, fh: int) -> int:
            return 0

        def fsyncdir(self, path: str, datasync: int, fh: int) -> int:
            fault(path + "/")
            fd = os.open(self._real(path), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            return 0

    fuse.FUSE(Passthrough(), mountpoint, foreground=True, nothreads=False)


if __name__ == "__main__":
    _serve(*sys.argv[1:4])
