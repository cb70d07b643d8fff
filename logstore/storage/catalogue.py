"""The topic catalogue: names, stable topic ids, partition counts and config overrides.

Persisted as one JSON file written atomically (temp file, fsync, rename). Owns topic-name
rules and the `TopicInfo` value. It must never touch partition directories: the LogManager
creates and deletes those after the catalogue says so.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from logstore.storage.errors import InvalidTopicError
from logstore.storage.files import write_atomic

INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state", "__share_group_state"})
MAX_TOPIC_NAME = 249
_LEGAL = re.compile(r"^[a-zA-Z0-9._-]+$")


@dataclass(frozen=True)
class TopicInfo:
    """A topic as the catalogue knows it; `configs` holds overrides only."""

    name: str
    topic_id: uuid.UUID
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)  # overrides only

    @property
    def internal(self) -> bool:
        """Kafka's internal topics, written by their coordinators only (a user's topic
        may start with `__` too and is not one of them)."""
        return self.name in INTERNAL_TOPICS


def validate_topic_name(name: str) -> None:
    """Kafka's rules: 1..249 of [a-zA-Z0-9._-], not "." or ".."."""
    if not name:
        raise InvalidTopicError("Topic name is illegal, it can't be empty")
    if name in (".", ".."):
        raise InvalidTopicError('Topic name cannot be "." or ".."')
    if len(name) > MAX_TOPIC_NAME:
        raise InvalidTopicError(
            f"Topic name is illegal, it can't be longer than {MAX_TOPIC_NAME} characters"
        )
    if not _LEGAL.match(name):
        raise InvalidTopicError(
            f'Topic name "{name}" is illegal, it contains a character other than '
            "ASCII alphanumerics, '.', '_' and '-'"
        )


def load_catalogue(path: Path) -> dict[str, TopicInfo]:
    """Read the catalogue; an absent file is an empty catalogue, a broken one an error."""
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    topics = {}
    for entry in raw.get("topics", []):
        info = TopicInfo(
            name=entry["name"],
            topic_id=uuid.UUID(entry["topic_id"]),
            partitions=int(entry["partitions"]),
            configs=dict(entry.get("configs", {})),
        )
        topics[info.name] = info
    return topics


def save_catalogue(path: Path, topics: dict[str, TopicInfo], *, durable: bool = True) -> None:
    """Replace the catalogue file atomically."""
    payload = {
        "version": 1,
        "topics": [
            {
                "name": t.name,
                "topic_id": str(t.topic_id),
                "partitions": t.partitions,
                "configs": t.configs,
            }
            for t in sorted(topics.values(), key=lambda t: t.name)
        ],
    }
    write_atomic(path, json.dumps(payload, indent=1).encode(), durable=durable)
