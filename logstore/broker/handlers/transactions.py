"""Transaction APIs: AddPartitionsToTxn (v0–3), AddOffsetsToTxn (v0–4), EndTxn (v0–4),
ListTransactions (v0–1), DescribeTransactions (v0).

Owns the mapping between kio's messages and `logstore.transactions.coordinator`, with the
error codes worded per version (PRODUCER_FENCED only from the versions that know it,
INVALID_PRODUCER_EPOCH before) and AddPartitionsToTxn's per-partition answers (unknown
partitions fail, the others are not attempted). It must never decide transaction state.
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable
from typing import Any, TypeVar

from logstore import error_codes as ec
from logstore.broker import access
from logstore.broker.api import RequestContext, handles
from logstore.broker.build import make
from logstore.broker.context import Broker
from logstore.protocol.api_keys import ApiKey
from logstore.security.acls import Operation
from logstore.storage.errors import KafkaStorageError
from logstore.transactions.state import TxnState

T = TypeVar("T")

# The first version of each API that may carry PRODUCER_FENCED.
FENCED_SINCE = {
    ApiKey.INIT_PRODUCER_ID: 4,
    ApiKey.ADD_PARTITIONS_TO_TXN: 2,
    ApiKey.ADD_OFFSETS_TO_TXN: 2,
    ApiKey.END_TXN: 2,
}


async def unless_log_failed(call: Awaitable[T], failed: T) -> T:
    """The coordinator's answer, or `failed` (NOT_COORDINATOR) if its log could not be
    made durable. As Kafka's: the client finds the coordinator again, which is then
    unavailable until a restart recovers the log; the state it shows stays the durable
    one."""
    try:
        return await call
    except KafkaStorageError:
        return failed


def worded(code: int, api: ApiKey, version: int) -> int:
    """A coordinator's code as the request's version knows it."""
    if code == ec.PRODUCER_FENCED and version < FENCED_SINCE[api]:
        return ec.INVALID_PRODUCER_EPOCH
    return code


@handles(ApiKey.ADD_PARTITIONS_TO_TXN, min_version=0, max_version=3)
async def add_partitions_to_txn(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    wanted: list[tuple[str, int]] = []
    for topic in request.v3_and_below_topics:
        wanted.extend((topic.name, p) for p in topic.partitions)
    codes: dict[tuple[str, int], int] = {}
    txn_refused = access.refusal(
        broker,
        ctx,
        Operation.WRITE,
        access.TRANSACTIONAL_ID,
        request.v3_and_below_transactional_id,
    )
    for name, p in wanted:
        info = broker.logs.topic(name)
        refused = txn_refused or access.refusal(broker, ctx, Operation.WRITE, access.TOPIC, name)
        if refused:
            codes[(name, p)] = refused
        elif info is None or not 0 <= p < info.partitions:
            codes[(name, p)] = ec.UNKNOWN_TOPIC_OR_PARTITION
    coord = broker.transactions
    if codes:
        for tp in wanted:
            codes.setdefault(tp, ec.OPERATION_NOT_ATTEMPTED)
    else:
        code = (
            ec.COORDINATOR_NOT_AVAILABLE
            if coord is None
            else await unless_log_failed(
                coord.add_partitions(
                    request.v3_and_below_transactional_id,
                    request.v3_and_below_producer_id,
                    request.v3_and_below_producer_epoch,
                    wanted,
                ),
                ec.NOT_COORDINATOR,
            )
        )
        code = worded(code, ApiKey.ADD_PARTITIONS_TO_TXN, ctx.api_version)
        codes = dict.fromkeys(wanted, code)
    schema = ctx.schema
    order = dict.fromkeys(name for name, _ in wanted)
    return make(
        ctx.response_class,
        throttle_time=0,
        results_by_topic_v3_and_below=tuple(
            make(
                schema.AddPartitionsToTxnTopicResult,
                name=name,
                results_by_partition=tuple(
                    make(
                        schema.AddPartitionsToTxnPartitionResult,
                        partition_index=p,
                        partition_error_code=c,
                    )
                    for (t, p), c in codes.items()
                    if t == name
                ),
            )
            for name in order
        ),
    )


@handles(ApiKey.ADD_OFFSETS_TO_TXN, min_version=0, max_version=4)
async def add_offsets_to_txn(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    coord = broker.transactions
    refused = access.refusal(
        broker, ctx, Operation.WRITE, access.TRANSACTIONAL_ID, request.transactional_id
    ) or access.refusal(broker, ctx, Operation.READ, access.GROUP, request.group_id)
    if refused:
        return make(ctx.response_class, throttle_time=0, error_code=refused)
    if coord is None:
        code = ec.COORDINATOR_NOT_AVAILABLE
    else:
        code = await unless_log_failed(
            coord.add_offsets(
                request.transactional_id,
                request.producer_id,
                request.producer_epoch,
                request.group_id,
            ),
            ec.NOT_COORDINATOR,
        )
    code = worded(code, ApiKey.ADD_OFFSETS_TO_TXN, ctx.api_version)
    return make(ctx.response_class, throttle_time=0, error_code=code)


@handles(ApiKey.END_TXN, min_version=0, max_version=4)
async def end_txn(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    coord = broker.transactions
    refused = access.refusal(
        broker, ctx, Operation.WRITE, access.TRANSACTIONAL_ID, request.transactional_id
    )
    if refused:
        return make(ctx.response_class, throttle_time=0, error_code=refused)
    if coord is None:
        code = ec.COORDINATOR_NOT_AVAILABLE
    else:
        code = await unless_log_failed(
            coord.end_txn(
                request.transactional_id,
                request.producer_id,
                request.producer_epoch,
                bool(request.committed),
            ),
            ec.NOT_COORDINATOR,
        )
    code = worded(code, ApiKey.END_TXN, ctx.api_version)
    return make(ctx.response_class, throttle_time=0, error_code=code)


_BY_TITLE = {s.title: s for s in TxnState}
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _instant(ms: int) -> datetime.datetime:
    """A timestamp field that may be Kafka's -1 ("none"), which kio has no None for."""
    return _EPOCH + datetime.timedelta(milliseconds=ms)


@handles(ApiKey.LIST_TRANSACTIONS, min_version=0, max_version=1)
async def list_transactions(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    coord = broker.transactions
    if coord is None or not coord.available:
        return make(
            ctx.response_class,
            throttle_time=0,
            error_code=ec.COORDINATOR_NOT_AVAILABLE,
            unknown_state_filters=(),
            transaction_states=(),
        )
    filters = list(request.state_filters)
    unknown = tuple(f for f in filters if f not in _BY_TITLE)
    states = {_BY_TITLE[f] for f in filters if f in _BY_TITLE}
    pids = set(request.producer_id_filters)
    duration = getattr(request, "duration_filter", -1)
    now = broker.clock.now_ms()
    listed = []
    for meta in coord.all():
        if filters and meta.state not in states:
            continue
        if pids and meta.producer_id not in pids:
            continue
        if duration >= 0 and (meta.state is not TxnState.ONGOING or now - meta.start_ms < duration):
            continue
        # As Kafka: only the transactional ids the principal may describe are listed.
        if not access.allowed(
            broker, ctx, Operation.DESCRIBE, access.TRANSACTIONAL_ID, meta.transactional_id
        ):
            continue
        listed.append(
            make(
                ctx.schema.TransactionState,
                transactional_id=meta.transactional_id,
                producer_id=meta.producer_id,
                transaction_state=meta.state.title,
            )
        )
    return make(
        ctx.response_class,
        throttle_time=0,
        error_code=ec.NONE,
        unknown_state_filters=unknown,
        transaction_states=tuple(listed),
    )


@handles(ApiKey.DESCRIBE_TRANSACTIONS, min_version=0, max_version=0)
async def describe_transactions(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    coord = broker.transactions
    schema = ctx.schema
    out = []
    for tid in request.transactional_ids:
        meta = None if coord is None else coord.get(tid)
        fields: dict[str, Any] = dict(
            error_code=ec.NONE,
            transactional_id=tid,
            transaction_state="",
            transaction_timeout=0,
            transaction_start_time=_instant(-1),
            producer_id=-1,
            producer_epoch=-1,
            topics=(),
        )
        refused = access.refusal(broker, ctx, Operation.DESCRIBE, access.TRANSACTIONAL_ID, tid)
        if refused:
            fields["error_code"] = refused
        elif coord is None or not coord.available:
            fields["error_code"] = ec.COORDINATOR_NOT_AVAILABLE
        elif meta is None:
            fields["error_code"] = ec.TRANSACTIONAL_ID_NOT_FOUND
        else:
            by_topic: dict[str, list[int]] = {}
            for topic, p in sorted(meta.partitions):
                # As Kafka: topics the principal may not describe are left out.
                if access.allowed(broker, ctx, Operation.DESCRIBE, access.TOPIC, topic):
                    by_topic.setdefault(topic, []).append(p)
            fields.update(
                transaction_state=meta.state.title,
                transaction_timeout=meta.timeout_ms,
                # As Kafka: the last transaction's start, kept once it has ended.
                transaction_start_time=_instant(meta.start_ms),
                producer_id=meta.producer_id,
                producer_epoch=meta.producer_epoch,
                topics=tuple(
                    make(schema.TopicData, topic=t, partitions=tuple(ps))
                    for t, ps in by_topic.items()
                ),
            )
        out.append(make(schema.TransactionState, **fields))
    return make(ctx.response_class, throttle_time=0, transaction_states=tuple(out))
