"""Producer-id allocation for InitProducerId, never reusing an id across restarts.

Owns the counter and its durable high-water mark: ids are reserved in blocks, and the end
of the current block is written (atomically) under `state_dir("producers")` before any id
of the block is handed out, so a crash can skip ids but never repeat one. A mark the disk
refuses reserves nothing: InitProducerId is answered COORDINATOR_LOAD_IN_PROGRESS, which
clients retry (Kafka's answer while its broker waits for a block of ids). It must never
know about partitions or sockets.
"""

from __future__ import annotations

from pathlib import Path

from logstore.durable import write_atomic
from logstore.error_codes import COORDINATOR_LOAD_IN_PROGRESS
from logstore.producers.state import ProducerStateError

BLOCK = 1000
ID_FILE = "next-producer-id"


class ProducerIdAllocator:
    def __init__(self, state_dir: Path, *, block: int = BLOCK) -> None:
        self._path = Path(state_dir) / ID_FILE
        self._block = block
        try:
            self._next = int(self._path.read_text().strip())
        except (FileNotFoundError, ValueError):
            self._next = 0
        # Everything below the stored mark may have been handed out before a crash.
        self._reserved_until = self._next

    def allocate(self) -> int:
        if self._next >= self._reserved_until:
            mark = self._next + self._block
            try:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(self._path, str(mark).encode())
            except OSError as exc:
                raise ProducerStateError(
                    COORDINATOR_LOAD_IN_PROGRESS, f"could not reserve producer ids: {exc}"
                ) from exc
            self._reserved_until = mark
        pid = self._next
        self._next += 1
        return pid
