"""The durable store of SCRAM credentials: one JSON file of salts and derived keys.

Owns loading, upserting, deleting and atomically rewriting `scram-credentials.json` in the
security state directory. It must never hold or write a password, and never know about
connections: the SASL code asks it for a user's credential.
"""

from __future__ import annotations

import base64
import json
import threading
from pathlib import Path

from logstore.durable import write_atomic
from logstore.security.scram import MECHANISMS, ScramCredential

FILENAME = "scram-credentials.json"
STATE_NAME = "security"  # the LogManager.state_dir name


def _encode(credential: ScramCredential) -> dict[str, object]:
    return {
        "salt": base64.b64encode(credential.salt).decode(),
        "iterations": credential.iterations,
        "stored_key": base64.b64encode(credential.stored_key).decode(),
        "server_key": base64.b64encode(credential.server_key).decode(),
    }


def _decode(mechanism: str, entry: dict[str, object]) -> ScramCredential:
    return ScramCredential(
        mechanism=mechanism,
        salt=base64.b64decode(str(entry["salt"])),
        iterations=int(str(entry["iterations"])),
        stored_key=base64.b64decode(str(entry["stored_key"])),
        server_key=base64.b64decode(str(entry["server_key"])),
    )


class CredentialStore:
    """Users' SCRAM credentials by mechanism, rewritten atomically on every change.
    `upsert` and `delete` block on the disk, so the broker runs them in a thread; the lock
    keeps two changes from each writing a copy that lacks the other's."""

    def __init__(self, directory: Path) -> None:
        self._path = directory / FILENAME
        self._users: dict[str, dict[str, ScramCredential]] = {}
        self._lock = threading.Lock()
        if self._path.exists():
            raw = json.loads(self._path.read_bytes())
            for user, mechanisms in raw.get("users", {}).items():
                self._users[user] = {
                    mech: _decode(mech, entry)
                    for mech, entry in mechanisms.items()
                    if mech in MECHANISMS
                }

    @property
    def path(self) -> Path:
        return self._path

    def get(self, user: str, mechanism: str) -> ScramCredential | None:
        return self._users.get(user, {}).get(mechanism)

    def users(self) -> dict[str, dict[str, ScramCredential]]:
        """A copy: user -> mechanism -> credential."""
        return {user: dict(mechs) for user, mechs in self._users.items()}

    def upsert(self, user: str, credential: ScramCredential) -> None:
        with self._lock:
            users = self.users()
            users.setdefault(user, {})[credential.mechanism] = credential
            self._save(users)

    def delete(self, user: str, mechanism: str) -> bool:
        """Remove one credential; False when there was none."""
        with self._lock:
            users = self.users()
            mechanisms = users.get(user)
            if mechanisms is None or mechanisms.pop(mechanism, None) is None:
                return False
            if not mechanisms:
                del users[user]
            self._save(users)
            return True

    def _save(self, users: dict[str, dict[str, ScramCredential]]) -> None:
        """Written before it is in force: if the disk refuses it (OSError), nothing
        changed."""
        body = {
            "version": 1,
            "users": {
                user: {mech: _encode(cred) for mech, cred in sorted(mechs.items())}
                for user, mechs in sorted(users.items())
            },
        }
        self._path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self._path, json.dumps(body, indent=1).encode() + b"\n")
        self._users = users
