"""AlterShareGroupOffsets (91, v0) and DeleteShareGroupOffsets (92, v0): what
`kafka-share-groups.sh --reset-offsets --execute` and `--delete-offsets` send, through the
Java admin client's `alterShareGroupOffsets` / `deleteShareGroupOffsets`.

Owns Kafka's order of checks: the group ACL (READ to alter, DELETE to delete) refuses the
whole request; then each topic's READ ACL and existence are checked per topic; then the
group must be empty and not of another type, and exist to have offsets deleted (altering
creates it, as Kafka does); a top-level error drops every per-topic answer, as Kafka's
does; only then does `logstore.shares.coordinator` change the state, written before it is
in force: a write the disk refuses changes nothing and is answered KAFKA_STORAGE_ERROR with
the reason on each partition (alter) or topic (delete) it would have changed. It must never
decide record states.
"""

from __future__ import annotations

import uuid
from typing import Any

from logstore.broker import access
from logstore.broker.api import RequestContext, handles
from logstore.broker.build import make
from logstore.broker.context import Broker
from logstore.error_codes import (
    GROUP_ID_NOT_FOUND,
    INVALID_GROUP_ID,
    UNKNOWN_TOPIC_OR_PARTITION,
)
from logstore.protocol.api_keys import ApiKey
from logstore.security.acls import Operation
from logstore.shares.coordinator import PartitionId
from logstore.shares.store import ShareStateWriteError

# Kafka's default messages for the errors these APIs answer.
MESSAGES = {
    UNKNOWN_TOPIC_OR_PARTITION: "This server does not host this topic-partition.",
    INVALID_GROUP_ID: "The configured groupId is invalid.",
}
NO_OFFSETS = "There is no offset information to delete."
# One topic of AlterShareGroupOffsets: name, id, and (partition, code, message) of each.
_Topic = tuple[str, uuid.UUID, list[tuple[int, int, str | None]]]


def _group_refusal(broker: Broker, ctx: RequestContext, op: Operation, group_id: str) -> Any:
    """(code, message) refusing the whole request before any topic is looked at, or None."""
    refused = access.refusal(broker, ctx, op, access.GROUP, group_id)
    if refused:
        return refused, "Group authorization failed."
    if not group_id:
        return INVALID_GROUP_ID, MESSAGES[INVALID_GROUP_ID]
    return None


def _state_refusal(broker: Broker, group_id: str, *, create: bool) -> tuple[int, str | None]:
    if broker.groups.group_type(group_id) is not None:
        return GROUP_ID_NOT_FOUND, f"Group {group_id} is not a share group."
    return broker.shares.offsets_refusal(group_id, create=create)


def _topic_refusal(broker: Broker, ctx: RequestContext, name: str) -> tuple[int, str | None]:
    refused = access.refusal(broker, ctx, Operation.READ, access.TOPIC, name)
    if refused:
        return refused, "Topic authorization failed."
    if broker.logs.topic(name) is None:
        return UNKNOWN_TOPIC_OR_PARTITION, MESSAGES[UNKNOWN_TOPIC_OR_PARTITION]
    return 0, None


def _answer(
    ctx: RequestContext, code: int, message: str | None, topics: tuple[Any, ...] = ()
) -> Any:
    return make(
        ctx.response_class, throttle_time=0, error_code=code, error_message=message,
        responses=topics,
    )  # fmt: skip


@handles(ApiKey.ALTER_SHARE_GROUP_OFFSETS, min_version=0, max_version=0)
async def alter_share_group_offsets(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    schema = ctx.schema
    group_id = request.group_id

    refused = _group_refusal(broker, ctx, Operation.READ, group_id)
    if refused:
        return _answer(ctx, *refused)
    offsets: dict[PartitionId, int] = {}
    topics: dict[str, _Topic] = {}
    for topic in request.topics:
        code, message = _topic_refusal(broker, ctx, topic.topic_name)
        info = broker.logs.topic(topic.topic_name) if not code else None
        parts = []
        for p in topic.partitions:
            p_code, p_message = code, message
            if info is not None and not 0 <= p.partition_index < info.partitions:
                p_code, p_message = UNKNOWN_TOPIC_OR_PARTITION, MESSAGES[UNKNOWN_TOPIC_OR_PARTITION]
            elif info is not None:
                offsets[(info.topic_id, p.partition_index)] = p.start_offset
            parts.append((p.partition_index, p_code, p_message))
        tid = info.topic_id if info is not None else _known_id(broker, topic.topic_name)
        # A topic named twice is one topic in Kafka's answer, its partitions together.
        if topic.topic_name in topics:
            topics[topic.topic_name][2].extend(parts)
        else:
            topics[topic.topic_name] = (topic.topic_name, tid, parts)
    code, message = _state_refusal(broker, group_id, create=True)
    if code:
        return _answer(ctx, code, message)
    not_written: tuple[int, str | None] = (0, None)
    try:
        await broker.shares.reset_start(group_id, offsets)
    except ShareStateWriteError as exc:  # nothing changed; the coordinator logged it
        not_written = exc.code, str(exc)
    return _answer(ctx, 0, None, tuple(_altered(schema, t, not_written) for t in topics.values()))


def _altered(schema: Any, topic: _Topic, not_written: tuple[int, str | None]) -> Any:
    """The topic's answer: each partition's own refusal, else `not_written` (0 once the
    new start offsets are on disk)."""
    name, tid, parts = topic
    return make(
        schema.AlterShareGroupOffsetsResponseTopic,
        topic_name=name,
        topic_id=tid,
        partitions=tuple(
            make(
                schema.AlterShareGroupOffsetsResponsePartition,
                partition_index=index,
                error_code=code or not_written[0],
                error_message=message if code else not_written[1],
            )
            for index, code, message in parts
        ),
    )


def _known_id(broker: Broker, name: str) -> uuid.UUID:
    """The topic's id if it exists (Kafka names it even where an ACL refused it), else zero."""
    info = broker.logs.topic(name)
    return info.topic_id if info is not None else uuid.UUID(int=0)


@handles(ApiKey.DELETE_SHARE_GROUP_OFFSETS, min_version=0, max_version=0)
async def delete_share_group_offsets(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    schema = ctx.schema
    group_id = request.group_id

    def topic_answer(name: str, code: int, message: str | None) -> Any:
        # Kafka names the topic id only where the deletion happened.
        return make(
            schema.DeleteShareGroupOffsetsResponseTopic,
            topic_name=name,
            topic_id=uuid.UUID(int=0) if code else _known_id(broker, name),
            error_code=code,
            error_message=message,
        )

    refused = _group_refusal(broker, ctx, Operation.DELETE, group_id)
    if refused:
        return _answer(ctx, *refused)
    wanted: dict[uuid.UUID, str] = {}
    topics = []
    for topic in request.topics:
        code, message = _topic_refusal(broker, ctx, topic.topic_name)
        if code:
            topics.append(topic_answer(topic.topic_name, code, message))
        else:
            wanted[_known_id(broker, topic.topic_name)] = topic.topic_name
    code, message = _state_refusal(broker, group_id, create=False)
    if code:
        return _answer(ctx, code, message)
    had = broker.shares.topics_with_state(group_id, set(wanted))
    done: tuple[int, str | None] = (0, None)
    try:
        await broker.shares.delete_offsets(group_id, had)
    except ShareStateWriteError as exc:  # nothing changed; the coordinator logged it
        done = exc.code, str(exc)
    for tid, name in wanted.items():
        if tid in had:
            topics.append(topic_answer(name, *done))
        else:
            topics.append(topic_answer(name, UNKNOWN_TOPIC_OR_PARTITION, NO_OFFSETS))
    return _answer(ctx, 0, None, tuple(topics))
