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

It owns only the encoding and the files; it must never decide record states.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from logstore.storage import LogManager

STATE_NAME = "__share_group_state"
_SUFFIX = ".json"

log = logging.getLogger(__name__)


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
        """Replace the group's state on disk (blocking: temp file, fsync, rename)."""
        data = json.dumps({"group": group_id, "state": state}, separators=(",", ":")).encode()
        self._logs.write_state(STATE_NAME, _filename(group_id), data)

    def delete(self, group_id: str) -> None:
        (self._dir() / _filename(group_id)).unlink(missing_ok=True)
