"""Committed-offset APIs: OffsetCommit (v2–9), OffsetFetch (v1–9, incl. multi-group v8+,
`require_stable` v7+), OffsetDelete (v0).

Owns the translation between kio's versioned messages and the coordinator's offset calls:
who may commit (members of the current generation, or anyone while the group is empty —
the path AdminClient's `alter_consumer_group_offsets` takes), per-partition checks
(unknown topic, metadata too large), UNSTABLE_OFFSET_COMMIT for a partition an open
transaction holds an offset of when the fetch requires stable offsets (otherwise the last
committed offset is answered), and the version differences in error placement. It
must never touch `__consumer_offsets` directly.
"""

from __future__ import annotations

from typing import Any

from logstore.broker import access
from logstore.broker.api import RequestContext, handles
from logstore.broker.build import make
from logstore.broker.context import Broker
from logstore.broker.handlers.groups import coordinator_of
from logstore.error_codes import OFFSET_METADATA_TOO_LARGE, UNSTABLE_OFFSET_COMMIT
from logstore.groups import errors as err
from logstore.groups.coordinator import GroupCoordinator
from logstore.groups.offsets import CommittedOffset
from logstore.protocol.api_keys import ApiKey
from logstore.security.acls import Operation
from logstore.storage.errors import KafkaStorageError

MAX_METADATA_BYTES = 4096
# OffsetCommit answers a group that does not exist GROUP_ID_NOT_FOUND from this version.
FIRST_GROUP_NOT_FOUND = 9


def partition_error(broker: Broker, topic: str, partition: int) -> int:
    info = broker.logs.topic(topic)
    if info is None or not 0 <= partition < info.partitions:
        return err.UNKNOWN_TOPIC_OR_PARTITION
    return err.NONE


@handles(ApiKey.OFFSET_COMMIT, min_version=2, max_version=9)
async def offset_commit(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    coord = coordinator_of(broker)
    generation = request.generation_id_or_member_epoch
    group_error = (
        err.COORDINATOR_NOT_AVAILABLE
        if coord is None
        else coord.validate_commit(
            request.group_id,
            request.member_id,
            generation,
            getattr(request, "group_instance_id", None),
        )
    )
    if group_error == err.GROUP_ID_NOT_FOUND and ctx.api_version < FIRST_GROUP_NOT_FOUND:
        group_error = err.ILLEGAL_GENERATION  # Kafka keeps older clients' answer
    now = broker.clock.now_ms()
    results: list[tuple[str, list[tuple[int, int]]]] = []
    entries: list[tuple[str, int, CommittedOffset | None]] = []
    group_refused = access.refusal(broker, ctx, Operation.READ, access.GROUP, request.group_id)
    for topic in request.topics:
        parts = []
        refused = group_refused or access.refusal(
            broker, ctx, Operation.READ, access.TOPIC, topic.name
        )
        for p in topic.partitions:
            # As Kafka: unknown topics and partitions are answered before the group is asked.
            code = refused or partition_error(broker, topic.name, p.partition_index) or group_error
            metadata = p.committed_metadata
            if not code and metadata is not None and len(metadata.encode()) > MAX_METADATA_BYTES:
                code = OFFSET_METADATA_TOO_LARGE
            if not code:
                entries.append(
                    (
                        topic.name,
                        p.partition_index,
                        CommittedOffset(
                            p.committed_offset,
                            getattr(p, "committed_leader_epoch", -1),
                            metadata,
                            now,
                        ),
                    )
                )
            parts.append((p.partition_index, code))
        results.append((topic.name, parts))
    if entries and coord is not None:
        try:
            await coord.commit(request.group_id, entries)
        except Exception as exc:
            # Not durable: nothing was acknowledged, the client retries.
            code = commit_failure(exc)
            results = [(t, [(i, code) for i, _ in ps]) for t, ps in results]
    return commit_response(ctx, "OffsetCommit", results)


def commit_failure(exc: Exception) -> int:
    """The code for offsets the coordinator could not make durable. As Kafka's: its log
    failing (KAFKA_STORAGE_ERROR) is NOT_COORDINATOR, which clients retry after finding
    the coordinator again; anything else is UNKNOWN_SERVER_ERROR."""
    return err.NOT_COORDINATOR if isinstance(exc, KafkaStorageError) else err.UNKNOWN_SERVER_ERROR


def commit_response(
    ctx: RequestContext, api: str, results: list[tuple[str, list[tuple[int, int]]]]
) -> Any:
    """An (Txn)OffsetCommit response: per topic, each partition's error code."""
    schema = ctx.schema
    topic_cls = getattr(schema, f"{api}ResponseTopic")
    partition_cls = getattr(schema, f"{api}ResponsePartition")
    return make(
        ctx.response_class,
        throttle_time=0,
        topics=tuple(
            make(
                topic_cls,
                name=name,
                partitions=tuple(
                    make(partition_cls, partition_index=i, error_code=c) for i, c in parts
                ),
            )
            for name, parts in results
        ),
    )


Fetched = list[tuple[str, list[tuple[int, CommittedOffset | None, int]]]]


def _fetch_group(
    broker: Broker,
    ctx: RequestContext,
    coord: GroupCoordinator,
    group_id: str,
    topics: Any,
    stable: bool,
) -> Fetched:
    """(topic, [(partition, committed or None, error)]); `topics` None means every
    committed one the principal may describe (as Kafka, others are left out silently).
    With `stable`, a partition with a pending transactional offset is
    UNSTABLE_OFFSET_COMMIT (Kafka's placement: per partition, at every version)."""

    def answer(topic: str, p: int) -> tuple[int, CommittedOffset | None, int]:
        refused = access.refusal(broker, ctx, Operation.DESCRIBE, access.TOPIC, topic)
        if refused:
            return p, None, refused
        if stable and coord.has_pending(group_id, topic, p):
            return p, None, UNSTABLE_OFFSET_COMMIT
        return p, coord.committed(group_id, topic, p), err.NONE

    if topics is None:
        by_topic: dict[str, list[tuple[int, CommittedOffset | None, int]]] = {}
        for t, p in sorted(coord.committed_all(group_id)):
            if not access.allowed(broker, ctx, Operation.DESCRIBE, access.TOPIC, t):
                continue
            by_topic.setdefault(t, []).append(answer(t, p))
        return list(by_topic.items())
    return [
        (topic.name, [answer(topic.name, p) for p in topic.partition_indexes]) for topic in topics
    ]


def _partitions(schema_cls: type, parts: list[tuple[int, CommittedOffset | None, int]]) -> tuple:
    return tuple(
        make(
            schema_cls,
            partition_index=p,
            committed_offset=v.offset if v else -1,
            committed_leader_epoch=v.leader_epoch if v else -1,
            metadata=(v.metadata if v else "") or "",
            error_code=code,
        )
        for p, v, code in parts
    )


def _group_code(broker: Broker, ctx: RequestContext, coord: Any, group_id: str) -> int:
    if coord is None:
        return err.COORDINATOR_NOT_AVAILABLE
    return access.refusal(broker, ctx, Operation.DESCRIBE, access.GROUP, group_id)


@handles(ApiKey.OFFSET_FETCH, min_version=1, max_version=9)
async def offset_fetch(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    coord = coordinator_of(broker)
    schema = ctx.schema
    stable = bool(getattr(request, "require_stable", False))
    if ctx.api_version >= 8:
        groups = []
        for g in request.groups:
            code = _group_code(broker, ctx, coord, g.group_id)
            found = (
                []
                if code or coord is None
                else _fetch_group(broker, ctx, coord, g.group_id, g.topics, stable)
            )
            groups.append(
                make(
                    schema.OffsetFetchResponseGroup,
                    group_id=g.group_id,
                    error_code=code,
                    topics=tuple(
                        make(
                            schema.OffsetFetchResponseTopics,
                            name=t,
                            partitions=_partitions(schema.OffsetFetchResponsePartitions, parts),
                        )
                        for t, parts in found
                    ),
                )
            )
        return make(ctx.response_class, throttle_time=0, groups=tuple(groups))
    code = _group_code(broker, ctx, coord, request.group_id)
    found = (
        []
        if code or coord is None
        else _fetch_group(broker, ctx, coord, request.group_id, request.topics, stable)
    )
    return make(
        ctx.response_class,
        throttle_time=0,
        error_code=code,
        topics=tuple(
            make(
                schema.OffsetFetchResponseTopic,
                name=t,
                partitions=_partitions(schema.OffsetFetchResponsePartition, parts),
            )
            for t, parts in found
        ),
    )


@handles(ApiKey.OFFSET_DELETE, min_version=0, max_version=0)
async def offset_delete(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    coord = coordinator_of(broker)
    schema = ctx.schema
    refused = access.refusal(broker, ctx, Operation.DELETE, access.GROUP, request.group_id)
    if refused:
        return make(ctx.response_class, error_code=refused, throttle_time=0, topics=())
    if not request.group_id:
        return make(ctx.response_class, error_code=err.INVALID_GROUP_ID, throttle_time=0, topics=())
    if coord is None or not coord.group_exists(request.group_id):
        code = err.COORDINATOR_NOT_AVAILABLE if coord is None else err.GROUP_ID_NOT_FOUND
        return make(ctx.response_class, error_code=code, throttle_time=0, topics=())
    # As Kafka: a topic the principal may not READ is refused, the others go ahead.
    unreadable = {
        t.name
        for t in request.topics
        if not access.allowed(broker, ctx, Operation.READ, access.TOPIC, t.name)
    }
    wanted = [
        (t.name, p.partition_index)
        for t in request.topics
        if t.name not in unreadable
        for p in t.partitions
    ]
    errors = await coord.delete_offsets(request.group_id, wanted)
    for t in request.topics:
        if t.name in unreadable:
            for p in t.partitions:
                errors[(t.name, p.partition_index)] = access.REFUSED[access.TOPIC]
    return make(
        ctx.response_class,
        error_code=0,
        throttle_time=0,
        topics=tuple(
            make(
                schema.OffsetDeleteResponseTopic,
                name=t.name,
                partitions=tuple(
                    make(
                        schema.OffsetDeleteResponsePartition,
                        partition_index=p.partition_index,
                        error_code=errors[(t.name, p.partition_index)],
                    )
                    for p in t.partitions
                ),
            )
            for t in request.topics
        ),
    )
