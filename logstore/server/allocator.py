"""The broker process's memory allocator settings (glibc's malloc), set once at start.

Request bodies, decoded record batches and fetch replies are megabyte-sized buffers made
and freed many times a second. With glibc's defaults such a buffer is either its own
`mmap` (its pages faulted in anew each time) or, once glibc raised its mmap threshold
after the first free, carved from the heap, whose top is given back to the kernel
(`brk` down, faulted in again on the next request) as soon as 128 KiB lie free there.
Kept mapped instead, the pages are reused: on this machine the broker's CPU per MB of
kcat produce (100 B records, plaintext) fell from 1.50–1.75 ms to 0.85–0.90 ms
(`bench/broker_cpu.py`). The price is memory the broker keeps after a burst: at most the
trim threshold above its live data.

Owns only those `mallopt` calls. It must never allocate on the broker's behalf, and it
does nothing where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("logstore.server")

# glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3
# Buffers up to this size come from the heap and are reused there; larger ones (rare: a
# request or reply of several MB) are mapped and unmapped each time.
MMAP_THRESHOLD_BYTES = 4 * 1024 * 1024
# Free memory at the heap's top kept rather than given back to the kernel.
TRIM_THRESHOLD_BYTES = 64 * 1024 * 1024
# What the heap grows by beyond a request that needs it to grow.
TOP_PAD_BYTES = 16 * 1024 * 1024


def tune() -> bool:
    """Apply the settings above; False where there is no glibc mallopt (nothing done)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    if not hasattr(libc, "gnu_get_libc_version"):
        return False  # not glibc (musl has mallopt but none of these parameters)
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    ok = all(
        mallopt(param, value) == 1
        for param, value in (
            (M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES),
            (M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES),
            (M_TOP_PAD, TOP_PAD_BYTES),
        )
    )
    if not ok:
        log.warning("glibc refused a malloc setting; running with its defaults")
    return ok
