"""The broker's allocator settings: a megabyte-sized buffer comes from the heap and its
memory stays there once freed, where glibc's defaults map it anew each time. Checked in a
fresh interpreter (the allocator's state is per process), through glibc's own counters."""

from __future__ import annotations

import subprocess
import sys

from tests.broker_fixture import REPO_ROOT

PROBE = """
import ctypes, sys
from logstore.server.allocator import tune

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "tuned":
    assert tune()
before = libc.mallinfo2().hblks
buf = bytearray(3 << 20)
mapped = libc.mallinfo2().hblks - before
del buf
print(mapped, libc.mallinfo2().keepcost)
"""


def _probe(mode: str) -> tuple[int, int]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    mapped, kept = done.stdout.split()
    return int(mapped), int(kept)


def test_large_buffers_come_from_the_heap_and_stay_there_once_freed() -> None:
    mapped, kept = _probe("tuned")
    assert mapped == 0
    assert kept >= 3 << 20


def test_without_the_settings_glibc_maps_the_same_buffer() -> None:
    # The comparison that makes the test above mean something on this C library.
    mapped, _ = _probe("default")
    assert mapped == 1
