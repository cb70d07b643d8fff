"""The durable store of client quotas: one JSON file of entities and their values.

Owns loading, changing and atomically rewriting `client-quotas.json`, and answering a
DescribeClientQuotas filter the way Kafka's quota image matches it. It must never check a
key or a value (logstore.quotas.rules does, before anything reaches here) and never
enforce a quota.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

from logstore.durable import write_atomic
from logstore.quotas.rules import Entity

FILENAME = "client-quotas.json"
STATE_NAME = "quotas"  # the LogManager.state_dir name

# One entity's change: key -> new value, or None to remove the key.
Change = tuple[Entity, Mapping[str, float | None]]


def _key(entity: Entity) -> frozenset[tuple[str, str | None]]:
    return frozenset(entity)


class QuotaStore:
    """Entities (a set of (type, name or None for the default)) and their quota values,
    rewritten atomically on every change. `apply` blocks on the disk, so the broker runs
    it in a thread; the lock keeps two changes from each writing a copy that lacks the
    other's. Without a directory it keeps quotas in memory only (brokers built in tests)."""

    def __init__(self, directory: Path | None = None) -> None:
        self._path = None if directory is None else directory / FILENAME
        self._entities: dict[frozenset[tuple[str, str | None]], tuple[Entity, dict[str, float]]]
        self._entities = {}
        self._lock = threading.Lock()
        if self._path is not None and self._path.exists():
            raw = json.loads(self._path.read_bytes())
            for item in raw.get("entities", []):
                entity: Entity = tuple((str(k), v) for k, v in item["entity"])
                values = {str(k): float(v) for k, v in item["values"].items()}
                if entity and values:
                    self._entities[_key(entity)] = (entity, values)

    def entries(self) -> list[tuple[Entity, dict[str, float]]]:
        """A copy of every entity with its values."""
        return [(entity, dict(values)) for entity, values in self._entities.values()]

    def values(self, entity: Entity) -> dict[str, float]:
        found = self._entities.get(_key(entity))
        return {} if found is None else dict(found[1])

    def apply(self, changes: Iterable[Change]) -> None:
        """Every change or none: written before it is in force, so if the disk refuses it
        (OSError) nothing changed."""
        with self._lock:
            entities = {k: (e, dict(v)) for k, (e, v) in self._entities.items()}
            for entity, change in changes:
                key = _key(entity)
                values = entities.get(key, (entity, {}))[1]
                for name, value in change.items():
                    if value is None:
                        values.pop(name, None)
                    else:
                        values[name] = value
                if values:
                    entities[key] = (entities.get(key, (entity, values))[0], values)
                else:
                    entities.pop(key, None)
            if self._path is not None:
                body = {
                    "version": 1,
                    "entities": [
                        {"entity": [list(pair) for pair in e], "values": v}
                        for e, v in entities.values()
                    ],
                }
                self._path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(self._path, json.dumps(body, indent=1).encode() + b"\n")
            self._entities = entities

    def matching(
        self, exact: Mapping[str, str | None], specified: Iterable[str], strict: bool
    ) -> list[tuple[Entity, dict[str, float]]]:
        """Kafka's ClientQuotasImage.matches: every exact component names the entity's
        value for that type (None: the default), every specified type is present, and
        with `strict` the entity has no other type."""
        wanted = set(specified)
        out = []
        for entity, values in self._entities.values():
            names = dict(entity)
            if strict and len(names) != len(exact) + len(wanted):
                continue
            if any(kind not in names or names[kind] != name for kind, name in exact.items()):
                continue
            if any(kind not in names for kind in wanted):
                continue
            out.append((entity, dict(values)))
        return out
