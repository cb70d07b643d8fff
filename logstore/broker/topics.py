"""Topic lookup shared by handlers, including auto-creation.

Owns the `auto.create.topics.enable` rule: a Metadata request for a missing topic creates
it with the broker's default partition count (Produce never creates, as in Apache Kafka:
clients ask Metadata first). It must never touch files
(storage does) nor build responses.
"""

from __future__ import annotations

import logging
from typing import Any

from logstore.broker.context import Broker
from logstore.broker.errors import UNKNOWN_TOPIC_OR_PARTITION, code_of
from logstore.storage import validate_topic_name

log = logging.getLogger("logstore.topics")


async def find_or_create(broker: Broker, name: str, *, allow_create: bool) -> tuple[Any, int]:
    """(TopicInfo or None, error code) for `name`, creating it when allowed.

    An invalid name is INVALID_TOPIC_EXCEPTION (17) whether or not creation is allowed,
    as Apache Kafka answers Metadata.
    """
    info = broker.logs.topic(name)
    if info is not None:
        return info, 0
    try:
        validate_topic_name(name)
    except Exception as exc:
        return None, code_of(exc)
    if not (allow_create and broker.config.auto_create_topics) or name.startswith("__"):
        return None, UNKNOWN_TOPIC_OR_PARTITION
    try:
        info = await broker.logs.admin.create_topic(name, broker.config.default_partitions)
    except Exception as exc:
        if code_of(exc) == 36:  # created concurrently: fine
            return broker.logs.topic(name), 0
        return None, code_of(exc)
    log.info(
        "created topic %s with %d partition(s): auto-created on a client's request "
        "(auto.create.topics.enable=true)",
        name,
        broker.config.default_partitions,
    )
    return info, 0
