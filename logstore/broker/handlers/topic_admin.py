"""CreateTopics (v2–7), DeleteTopics (v1–6), CreatePartitions (v0–3).

Owns how admin requests map onto the storage catalogue: replication factor must be 1 or
-1 (a single node), -1 partitions means the broker default, `validate_only` changes
nothing, and one request creates at most MAX_PARTITIONS_PER_REQUEST partitions (as Kafka's
controller: POLICY_VIOLATION for every topic of a request over it). A topic named twice
in one CreateTopics or CreatePartitions is left alone and answered once, INVALID_REQUEST,
as Kafka answers it. An internal topic is never deleted (POLICY_VIOLATION): its coordinator
keeps its state there. The per-topic and per-broker limits are the storage's
(PolicyViolationError). It must never touch files itself.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from typing import Any

from logstore.broker import access, request_quota
from logstore.broker.api import RequestContext, handles
from logstore.broker.build import make
from logstore.broker.context import Broker
from logstore.broker.errors import (
    INVALID_REQUEST,
    POLICY_VIOLATION,
    UNKNOWN_TOPIC_ID,
    UNKNOWN_TOPIC_OR_PARTITION,
    code_of,
    message_of,
)
from logstore.broker.handlers.configs import SOURCE_CODES
from logstore.broker.topic_checks import assignment_refusal, count_refusal, create_refusal
from logstore.error_codes import THROTTLING_QUOTA_EXCEEDED
from logstore.protocol.api_keys import ApiKey
from logstore.quotas import mutations
from logstore.quotas.enforcer import REQUEST as REQUEST_QUOTA
from logstore.quotas.mutations import MutationQuota
from logstore.security.acls import Operation

log = logging.getLogger("logstore.topics")

# Kafka's controller refuses a request that would create more partitions than this at
# once (MAX_PARTITIONS_PER_BATCH / MAX_RECORDS_PER_USER_OP), with these messages.
MAX_PARTITIONS_PER_REQUEST = 10_000
TOO_MANY_FOR_CREATE_TOPICS = "Excessively large number of partitions per request."
TOO_MANY_RECORDS = "Unable to perform excessively large batch operation."
TOO_MANY_FOR_CREATE_PARTITIONS = "Excessively large number of additional partitions per request."
DUPLICATE_NAME = "Duplicate topic name."
INTERNAL_KEPT = "{} is an internal topic holding this broker's state; it cannot be deleted."


async def _create_one(
    broker: Broker, ctx: RequestContext, topic: Any, validate_only: bool, quota: MutationQuota
) -> Any:
    schema = ctx.schema
    result: dict[str, Any] = dict(
        name=topic.name,
        topic_id=uuid.UUID(int=0),
        error_code=0,
        error_message=None,
        topic_config_error_code=0,
        num_partitions=-1,
        replication_factor=-1,
        configs=None,
    )
    if not access.allowed(broker, ctx, Operation.CREATE, access.CLUSTER) and not access.allowed(
        broker, ctx, Operation.CREATE, access.TOPIC, topic.name
    ):
        result.update(error_code=access.REFUSED[access.TOPIC], error_message=access.DENIED)
        return make(schema.CreatableTopicResult, **result)
    refused = create_refusal(topic, broker.config.node_id)
    if refused:
        result.update(error_code=refused[0], error_message=refused[1])
        return make(schema.CreatableTopicResult, **result)
    partitions = topic.num_partitions
    if topic.assignments:
        partitions = len(topic.assignments)
    elif partitions == -1:
        partitions = broker.config.default_partitions
    configs = {c.name: c.value for c in topic.configs}
    try:
        if quota.active:
            # Kafka's controller counts a topic against controller_mutation_rate once it
            # passed every check, whether or not it is then created (validate-only too).
            await broker.logs.admin.create_topic(
                topic.name, partitions, configs, validate_only=True
            )
            if not quota.allow(partitions):
                result.update(
                    error_code=THROTTLING_QUOTA_EXCEEDED, error_message=mutations.THROTTLED
                )
                return make(schema.CreatableTopicResult, **result)
        info = await broker.logs.admin.create_topic(
            topic.name, partitions, configs, validate_only=validate_only
        )
    except Exception as exc:
        result.update(error_code=code_of(exc), error_message=message_of(exc))
        return make(schema.CreatableTopicResult, **result)
    result.update(num_partitions=partitions, replication_factor=1)
    if not validate_only:
        log.info(
            "created topic %s with %d partition(s): CreateTopics from %s (client id %r)%s",
            topic.name,
            partitions,
            ctx.client_host,
            ctx.client_id,
            f", configs {configs}" if configs else "",
        )
    if info is not None and getattr(info, "topic_id", None) is not None and not validate_only:
        result["topic_id"] = info.topic_id
    if ctx.api_version >= 5 and not validate_only:
        # By name, as Kafka's controller lists them.
        entries = sorted(broker.logs.describe_configs(info), key=lambda e: e.name)
        result["configs"] = tuple(
            make(
                schema.CreatableTopicConfigs,
                name=e.name,
                value=e.value,
                read_only=e.read_only,
                config_source=SOURCE_CODES.get(e.source, 5),
                is_sensitive=e.sensitive,
            )
            for e in entries
        )
    elif ctx.api_version >= 5:
        result["configs"] = ()
    return make(schema.CreatableTopicResult, **result)


def _requested_partitions(broker: Broker, topic: Any) -> int:
    """What one CreatableTopic asks for, counted as Kafka's controller counts it."""
    if topic.assignments:
        return len(topic.assignments)
    if topic.num_partitions == -1:
        return broker.config.default_partitions
    return max(topic.num_partitions, 0)


def _refused(ctx: RequestContext, name: str, message: str, code: int = POLICY_VIOLATION) -> Any:
    return make(
        ctx.schema.CreatableTopicResult,
        name=name,
        topic_id=uuid.UUID(int=0),
        error_code=code,
        error_message=message,
        topic_config_error_code=0,
        num_partitions=-1,
        replication_factor=-1,
        configs=() if ctx.api_version >= 5 else None,
    )


def _mutation_quota(broker: Broker, ctx: RequestContext, strict_since: int) -> MutationQuota:
    """This request's controller_mutation_rate quota: strict from the version Kafka made
    it strict (KIP-599), permissive before."""
    return broker.quotas.mutations(
        ctx.user, ctx.client_id or "", strict=ctx.api_version >= strict_since
    )


def _waited(broker: Broker, ctx: RequestContext, quota: MutationQuota) -> int:
    """The wait the response carries: the longer of the controller mutation wait and the
    request_percentage one. The connection is muted for it and only that quota counts it
    as a throttle, as Kafka does (sendResponseMaybeThrottleWithControllerQuota)."""
    mutation_wait = quota.throttle_ms()
    request_wait = request_quota.charge(broker, ctx)
    if request_wait > mutation_wait:
        broker.quotas.mute(ctx.connection, request_wait, REQUEST_QUOTA)
        return request_wait
    broker.quotas.mute(ctx.connection, mutation_wait, mutations.KEY)
    return mutation_wait


@handles(ApiKey.CREATE_TOPICS, min_version=2, max_version=7)
async def create_topics(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    # A name given twice is not created; Kafka answers it once, after the others.
    counts = Counter(t.name for t in request.topics)
    twice = [name for name, n in counts.items() if n > 1]
    topics = [t for t in request.topics if counts[t.name] == 1]
    total = sum(_requested_partitions(broker, t) for t in topics)
    quota = _mutation_quota(broker, ctx, strict_since=6)
    # Kafka's controller also counts the metadata records the request would write: one per
    # topic, one per partition, one per config.
    records = total + sum(1 + len(t.configs) for t in topics)
    if total > MAX_PARTITIONS_PER_REQUEST:
        results = [_refused(ctx, t.name, TOO_MANY_FOR_CREATE_TOPICS) for t in topics]
    elif records > MAX_PARTITIONS_PER_REQUEST:
        results = [_refused(ctx, t.name, TOO_MANY_RECORDS) for t in topics]
    else:
        results = [await _create_one(broker, ctx, t, request.validate_only, quota) for t in topics]
    results += [_refused(ctx, name, DUPLICATE_NAME, INVALID_REQUEST) for name in twice]
    return make(
        ctx.response_class, throttle_time=_waited(broker, ctx, quota), topics=tuple(results)
    )


async def _forget(broker: Broker, topic: str) -> None:
    """Tell the producer-state and group services a topic is gone."""
    broker.producers.forget_topic(topic)
    await broker.groups.forget_topic(topic)


def _delete_refused(broker: Broker, ctx: RequestContext, name: str | None) -> int:
    """As Kafka's controller: DELETE on the cluster covers every topic; otherwise a topic
    not describable is refused before its existence is told, then DELETE on it is needed."""
    if name is None or access.allowed(broker, ctx, Operation.DELETE, access.CLUSTER):
        return 0
    return access.refusal(broker, ctx, Operation.DESCRIBE, access.TOPIC, name) or (
        access.refusal(broker, ctx, Operation.DELETE, access.TOPIC, name)
        if broker.logs.topic(name) is not None
        else 0
    )


ZERO_ID = uuid.UUID(int=0)
Named = tuple[str | None, uuid.UUID | None]


def _sort_out(
    pairs: list[Named],
) -> tuple[list[Named], list[tuple[str | None, uuid.UUID | None, str]]]:
    """Kafka's controller's checks of a DeleteTopics request before anything is looked up:
    (the topics to delete, in order; the refused ones with the reason, answered
    INVALID_REQUEST first). A topic names either a name or an id, never both or neither,
    and a name or id given twice is refused once, all its mentions dropped."""
    refused: list[tuple[str | None, uuid.UUID | None, str]] = []
    kept: list[Named] = []
    for name, topic_id in pairs:
        has_id = topic_id is not None and topic_id.int != 0
        if name is None and not has_id:
            refused.append((None, None, "Neither topic name nor id were specified."))
        elif name is not None and has_id:
            refused.append((name, topic_id, "You may not specify both topic name and topic id."))
        else:
            kept.append((name, topic_id if has_id else None))
    names = Counter(name for name, _ in kept if name is not None)
    ids = Counter(topic_id for name, topic_id in kept if name is None)
    refused += [(name, None, DUPLICATE_NAME) for name, n in names.items() if n > 1]
    refused += [(None, i, "Duplicate topic id.") for i, n in ids.items() if n > 1]
    kept = [
        (name, topic_id)
        for name, topic_id in kept
        if (names[name] == 1 if name is not None else ids[topic_id] == 1)
    ]
    return kept, refused


@handles(ApiKey.DELETE_TOPICS, min_version=1, max_version=6)
async def delete_topics(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    schema = ctx.schema
    # v0–5 send names; v6 sends (name | topic_id) states.
    items = getattr(request, "topics", None)
    names = getattr(request, "topic_names", None)
    pairs: list[tuple[str | None, uuid.UUID | None]] = []
    if items is not None:
        pairs = [(i.name, i.topic_id) for i in items]
    elif names is not None:
        pairs = [(n, None) for n in names]
    pairs, refused_pairs = _sort_out(pairs)
    results = [
        make(
            schema.DeletableTopicResult,
            name=name,
            topic_id=topic_id or ZERO_ID,
            error_code=INVALID_REQUEST,
            error_message=why,
        )
        for name, topic_id, why in refused_pairs
    ]
    quota = _mutation_quota(broker, ctx, strict_since=5)
    for name, topic_id in pairs:
        error, message = 0, None
        info = broker.logs.topic(name) if name else None
        if name is None and topic_id is not None and topic_id.int != 0:
            info = broker.logs.topic_by_id(topic_id)
            if info is None:
                error, message = UNKNOWN_TOPIC_ID, "unknown topic id"
        elif info is None:
            error, message = UNKNOWN_TOPIC_OR_PARTITION, f"unknown topic {name!r}"
        refused = _delete_refused(broker, ctx, info.name if info is not None else name)
        if refused:
            info, error, message = None, refused, access.DENIED
        elif info is not None and info.internal:
            # Unlike Kafka, which lets the offsets go and makes the topic anew on the next
            # FindCoordinator, a coordinator here keeps its state in the topic while it
            # runs: deleting it would lose every group's offsets and stop the groups.
            error, message = POLICY_VIOLATION, INTERNAL_KEPT.format(info.name)
            name, topic_id, info = info.name, info.topic_id, None
        if info is not None and not quota.allow(info.partitions):
            name, topic_id, info = info.name, info.topic_id, None
            error, message = THROTTLING_QUOTA_EXCEEDED, mutations.THROTTLED
        if info is not None:
            try:
                await broker.logs.admin.delete_topic(info.name, info.topic_id)
                log.info(
                    "deleted topic %s: DeleteTopics from %s (client id %r)",
                    info.name,
                    ctx.client_host,
                    ctx.client_id,
                )
                broker.traffic.forget(info.name)
                broker.appends.notify_all()
                await _forget(broker, info.name)
            except Exception as exc:
                error, message = code_of(exc), message_of(exc)
        results.append(
            make(
                schema.DeletableTopicResult,
                name=info.name if info is not None else name,
                topic_id=info.topic_id if info is not None else (topic_id or ZERO_ID),
                error_code=error,
                error_message=message,
            )
        )
    return make(
        ctx.response_class, throttle_time=_waited(broker, ctx, quota), responses=tuple(results)
    )


@handles(ApiKey.CREATE_PARTITIONS, min_version=0, max_version=3)
async def create_partitions(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    schema = ctx.schema
    # A topic named twice is left alone; Kafka answers it once, before the others.
    counts = Counter(t.name for t in request.topics)
    twice = [name for name, n in counts.items() if n > 1]
    topics = [t for t in request.topics if counts[t.name] == 1]
    results = [
        make(
            schema.CreatePartitionsTopicResult,
            name=name,
            error_code=INVALID_REQUEST,
            error_message=DUPLICATE_NAME,
        )
        for name in twice
    ]
    quota = _mutation_quota(broker, ctx, strict_since=3)
    added = 0
    for t in topics:
        info = broker.logs.topic(t.name)
        if info is not None and t.count > info.partitions:
            added += t.count - info.partitions
    for t in topics:
        error, message = 0, None
        info = broker.logs.topic(t.name)
        if not access.allowed(broker, ctx, Operation.ALTER, access.TOPIC, t.name):
            error, message = access.REFUSED[access.TOPIC], access.DENIED
        elif added > MAX_PARTITIONS_PER_REQUEST:
            error, message = POLICY_VIOLATION, TOO_MANY_FOR_CREATE_PARTITIONS
        elif info is None:
            error, message = UNKNOWN_TOPIC_OR_PARTITION, f"unknown topic {t.name!r}"
        elif refused := count_refusal(t, info.partitions):
            error, message = refused
        elif not quota.allow(t.count - info.partitions):
            error, message = THROTTLING_QUOTA_EXCEEDED, mutations.THROTTLED
        elif refused := assignment_refusal(t, broker.config.node_id):
            error, message = refused
        else:
            try:
                await broker.logs.admin.add_partitions(
                    t.name, t.count, validate_only=request.validate_only
                )
            except Exception as exc:
                error, message = code_of(exc), message_of(exc)
        results.append(
            make(
                schema.CreatePartitionsTopicResult,
                name=t.name,
                error_code=error,
                error_message=message,
            )
        )
    return make(
        ctx.response_class, throttle_time=_waited(broker, ctx, quota), results=tuple(results)
    )
