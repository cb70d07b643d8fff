"""Topic lookup shared by handlers, including auto-creation.

Owns the `auto.create.topics.enable` rule: a Metadata or Produce request for a missing
topic creates it with the broker's default partition count. It must never touch files
(storage does) nor build responses.
"""

from __future__ import annotations

from typing import Any

from logstore.broker.context import Broker
from logstore.broker.errors import UNKNOWN_TOPIC_OR_PARTITION, code_of


def find_or_create(broker: Broker, name: str, *, allow_create: bool) -> tuple[Any, int]:
    """(TopicInfo or None, error code) for `name`, creating it when allowed."""
    info = broker.logs.topic(name)
    if info is not None:
        return info, 0
    if not (allow_create and broker.config.auto_create_topics) or name.startswith("__"):
        return None, UNKNOWN_TOPIC_OR_PARTITION
    try:
        return broker.logs.create_topic(name, broker.config.default_partitions), 0
    except Exception as exc:
        if code_of(exc) == 36:  # created concurrently: fine
            return broker.logs.topic(name), 0
        return None, code_of(exc)
