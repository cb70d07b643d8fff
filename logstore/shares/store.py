"""Durable share-group state: one small JSON file per share group under the storage's
state directory `__share_group_state/`.

Kafka keeps this in the `__share_group_state` topic, replicated across brokers; a single
node gains nothing from a log there but replay cost, so each group's whole state (its
config overrides and, per share-partition, SPSO plus in-flight spans with delivery counts)
is replaced atomically (temp file, fsync, rename) before the acknowledgement or fetch that
changed it is answered. Acquired spans are written as available, which is what a restart
after `kill -9` must find. The file is named by a SHA-256 of the group id and holds the id
itself, so any group id Kafka allows (up to 32,767 bytes, any characters) has a file name
the filesystem accepts. Files from before that (named by the id in hex) are read and
renamed on load.

A write or deletion the disk refuses (ENOSPC, EIO) raises `ShareStateWriteError` and leaves
the previous file whole; only when the directory's fsync fails, after the rename or unlink,
is it unknown which of the two a restart finds, as after any failed fsync.

It owns only the encoding and the files; it must never decide record states.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from logstore.durable import fsync_dir
from logstore.storage import KafkaStorageError, LogManager

STATE_NAME = "__share_group_state"
_SUFFIX = ".json"

log = logging.getLogger(__name__)


class ShareStateWriteError(KafkaStorageError):
    """The disk refused a share group's state (KAFKA_STORAGE_ERROR); the message says whose
    and why, e.g. "the state of share group G could not be written: [Errno 28] No space
    left on device"."""


def _reason(exc: OSError) -> str:
    """The error without the file's path, which is the broker's business, not the client's."""
    return f"[Errno {exc.errno}] {exc.strerror}" if exc.errno else str(exc)


def _filename(group_id: str) -> str:
    return hashlib.sha256(group_id.encode()).hexdigest() + _SUFFIX


class ShareStateStore:
    def __init__(self, logs: LogManager) -> None:
        self._logs = logs

    def _dir(self) -> Path:
        return self._logs.state_dir(STATE_NAME)

    def load_all(self) -> dict[str, dict[str, Any]]:
        """group id -> its stored state (unreadable files are reported and skipped)."""
        out: dict[str, dict[str, Any]] = {}
        for path in sorted(self._dir().glob("*" + _SUFFIX)):
            try:
                stored = json.loads(path.read_bytes())
                if "group" in stored and "state" in stored:
                    out[stored["group"]] = stored["state"]
                    continue
                group_id = bytes.fromhex(path.name[: -len(_SUFFIX)]).decode()
            except (ValueError, OSError, TypeError):
                log.exception("share group state %s is unreadable; ignored", path)
                continue
            # Named by the id in hex, holding the bare state: rewrite it under its new name.
            self.write(group_id, stored)
            path.unlink()
            out[group_id] = stored
        return out

    def write(self, group_id: str, state: dict[str, Any]) -> None:
        """Replace the group's state on disk (blocking: temp file, fsync, rename);
        ShareStateWriteError if the disk refuses it."""
        data = json.dumps({"group": group_id, "state": state}, separators=(",", ":")).encode()
        try:
            self._logs.write_state(STATE_NAME, _filename(group_id), data)
        except OSError as exc:
            raise ShareStateWriteError(
                f"the state of share group {group_id} could not be written: {_reason(exc)}"
            ) from exc

    def delete(self, group_id: str) -> None:
        """Remove the group's file for good (blocking: unlink, fsync the directory);
        ShareStateWriteError if the disk refuses it."""
        try:
            directory = self._dir()
            (directory / _filename(group_id)).unlink(missing_ok=True)
            # Without this a power cut could bring the deleted group back.
            fsync_dir(directory)
        except OSError as exc:
            raise ShareStateWriteError(
                f"the state of share group {group_id} could not be deleted: {_reason(exc)}"
            ) from exc
