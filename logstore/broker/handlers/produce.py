"""Produce (key 0): advertise v0–11, accept v3–11; acks 0, 1 and -1 (all).

Owns the append path: resolve the partition (an unknown topic is error 3, never created
here, as in Apache Kafka), give
idempotent batches to the producer-state hook (see `logstore.broker.context`) and
transactional ones to the transaction coordinator's check (KIP-890), append the
client's bytes as they are (compression untouched), wake long-polling fetchers, and for
acks=-1 wait until storage says the data is durable. It must never decode records.
"""

from __future__ import annotations

import asyncio
from typing import Any

from logstore.broker import access, request_quota
from logstore.broker.api import RequestContext, handles
from logstore.broker.asked import last_entries
from logstore.broker.context import Broker
from logstore.broker.errors import (
    INVALID_RECORD,
    INVALID_REQUIRED_ACKS,
    INVALID_TOPIC_EXCEPTION,
    KAFKA_STORAGE_ERROR,
    UNKNOWN_TOPIC_OR_PARTITION,
    UNSUPPORTED_COMPRESSION_TYPE,
    UNSUPPORTED_VERSION,
    code_of,
    message_of,
)
from logstore.error_codes import TRANSACTIONAL_ID_AUTHORIZATION_FAILED
from logstore.producers.state import DuplicateBatch
from logstore.protocol.api_keys import ApiKey
from logstore.protocol.legacy_produce import refuse_legacy_produce
from logstore.protocol.produce_response import PartitionResult, encode_produce_response
from logstore.quotas.enforcer import PRODUCE as PRODUCE_QUOTA
from logstore.quotas.enforcer import REQUEST as REQUEST_QUOTA
from logstore.records import HEADER_SIZE, parse_header
from logstore.records.header import MIN_BATCH_LENGTH
from logstore.security.acls import Operation
from logstore.storage.errors import StorageError


def _legacy(ctx: RequestContext, body: bytes) -> bytes:
    return refuse_legacy_produce(body, UNSUPPORTED_VERSION)


class _Outcome:
    __slots__ = (
        "base_offset",
        "error",
        "last_offset",
        "log",
        "log_append_time",
        "log_start",
        "message",
        "record_errors",
    )

    def __init__(
        self,
        error: int = 0,
        message: str | None = None,
        record_errors: tuple[tuple[int, str], ...] = (),
    ) -> None:
        self.error = error
        self.message = message
        self.record_errors = record_errors
        self.base_offset = -1
        self.last_offset = -1
        self.log_append_time = -1
        self.log_start = -1
        self.log: Any = None


def _outside_transaction(broker: Broker, header: Any, topic: str, partition: int) -> int:
    """KIP-890's check: a transactional batch belongs to its producer's open transaction
    on this very partition (INVALID_TXN_STATE otherwise, a stale epoch fenced)."""
    coord = broker.transactions
    if coord is None or not header.is_transactional or header.is_control:
        return 0
    return coord.check_produce(header.producer_id, header.producer_epoch, topic, partition)


ZSTD = 4
MAGIC_AT, ATTRIBUTES_AT = 16, 21
TRANSACTIONAL_BIT = 0x10


def _not_one_batch(version: int, data: memoryview) -> _Outcome | None:
    """Kafka's rules for a partition's records in Produce v3 and later (its
    `ProduceRequest.validateRecords`, with its messages): exactly one batch, and no
    zstd before v7. A first batch that is torn or not magic 2 is left to storage's
    framing check, which refuses it as Kafka does (INVALID_RECORD)."""
    if len(data) < HEADER_SIZE:
        return None
    first = parse_header(data)
    if first.magic != 2 or first.batch_length < MIN_BATCH_LENGTH or first.size > len(data):
        return None
    if version < 7 and first.compression == ZSTD:
        return _Outcome(
            UNSUPPORTED_COMPRESSION_TYPE,
            f"Produce requests with version {version} are not allowed to use ZStandard compression",
        )
    rest = len(data) - first.size
    # Kafka's batch iterator sees a second batch only if it is whole; trailing bytes
    # that are not are storage's "incomplete record batch".
    if rest >= HEADER_SIZE and 0 < parse_header(data, first.size).size <= rest:
        return _Outcome(
            INVALID_RECORD,
            f"Produce requests with version {version} are only allowed to contain exactly "
            "one record batch per partition",
        )
    return None


def _transactional(records: Any) -> bool:
    """Whether a partition's (first) batch is marked transactional."""
    return (
        records is not None
        and len(records) >= HEADER_SIZE
        and records[MAGIC_AT] == 2
        and bool(records[ATTRIBUTES_AT + 1] & TRANSACTIONAL_BIT)
    )


def _not_for_clients(info: Any, topic: str, partition: int, data: memoryview) -> _Outcome | None:
    """Kafka's refusals before a batch's CRC is looked at: an internal topic is written
    by its coordinator only (a client's records there would be read back at start-up as
    group or transaction state), and a client's batch starts at offset 0."""
    if info.internal:
        return _Outcome(INVALID_TOPIC_EXCEPTION, f"Cannot append to internal topic {topic}")
    if len(data) >= HEADER_SIZE and data[MAGIC_AT] == 2:
        base = int.from_bytes(data[:8], "big", signed=True)
        if base != 0:
            return _Outcome(
                INVALID_RECORD,
                f"The baseOffset of the record batch in the append to {topic}-{partition} "
                f"should be 0, but it is {base}",
            )
    return None


def _append(broker: Broker, version: int, topic: str, partition: int, records: Any) -> _Outcome:
    info = broker.logs.topic(topic)
    if info is None:
        # Apache Kafka never creates topics on Produce (clients' Metadata does).
        return _Outcome(UNKNOWN_TOPIC_OR_PARTITION)
    if not 0 <= partition < info.partitions:
        return _Outcome(UNKNOWN_TOPIC_OR_PARTITION)
    if not records:
        return _Outcome(
            INVALID_RECORD,
            f"Produce requests with version {version} must have at least one record batch "
            "per partition",
        )
    data = memoryview(records)
    not_one = _not_one_batch(version, data) or _not_for_clients(info, topic, partition, data)
    if not_one is not None:
        return not_one
    try:
        log = broker.logs.log(topic, partition)
    except Exception as exc:
        return _Outcome(code_of(exc), message_of(exc))
    if getattr(log, "recovery_error", None):
        return _Outcome(KAFKA_STORAGE_ERROR, log.recovery_error)
    hook = broker.producers
    headers: list[Any] = []
    try:
        if hook is not None:
            from logstore.records import iter_headers

            headers = [h for _, h in iter_headers(data)]
            if any(h.is_control for h in headers):
                # Only the transaction coordinator writes markers (Kafka's refusal).
                return _Outcome(INVALID_RECORD, "control batches cannot be produced by clients")
            for header in headers:
                if header.producer_id < 0:
                    continue
                refused = _outside_transaction(broker, header, topic, partition)
                if refused:
                    return _Outcome(refused, "the partition is not in the producer's transaction")
                duplicate = hook.check(log, header)
                if isinstance(duplicate, DuplicateBatch):
                    out = _Outcome()
                    out.base_offset = duplicate.base_offset
                    out.log_append_time = duplicate.log_append_time
                    out.log_start = log.log_start_offset
                    # A retry may overtake its original's fsync: acks=all answers it
                    # only once that copy is durable.
                    out.last_offset = duplicate.base_offset + header.last_offset_delta
                    out.log = log
                    return out
        result = log.append(data, now_ms=broker.clock.now_ms())
    except Exception as exc:
        # Storage, records and the producer hook raise errors carrying Kafka's code;
        # a refusal caused by particular records names them (KIP-467).
        return _Outcome(code_of(exc), message_of(exc), getattr(exc, "record_errors", ()))
    if hook is not None:
        base = result.base_offset
        for header in headers:
            if header.producer_id >= 0:
                hook.record(log, header, base)
            base += header.last_offset_delta + 1
    broker.appends.notify(topic, partition)
    broker.traffic.produced(topic, len(data), result.last_offset - result.base_offset + 1)
    out = _Outcome()
    out.base_offset = result.base_offset
    out.last_offset = result.last_offset
    out.log_append_time = result.log_append_time
    out.log_start = result.log_start_offset
    out.log = log
    return out


async def _durable(broker: Broker, out: _Outcome, errors: Any) -> None:
    """Wait until acks=all may be answered for `out`; if the topic was deleted meanwhile
    or the fsync failed, that partition's answer becomes the error (Kafka answers
    UNKNOWN_TOPIC_OR_PARTITION and KAFKA_STORAGE_ERROR) and the rest of the request is
    answered as usual."""
    try:
        await broker.logs.wait_durable(out.log, out.last_offset)
    except (StorageError, OSError) as exc:
        code = code_of(exc) if isinstance(exc, StorageError) else KAFKA_STORAGE_ERROR
        failed = _Outcome(code, message_of(exc))
        for name in _Outcome.__slots__:
            setattr(out, name, getattr(failed, name))
        errors[code] += 1


@handles(ApiKey.PRODUCE, min_version=0, max_version=11, legacy=_legacy)
async def produce(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    acks = request.acks
    outcomes: list[tuple[str, list[tuple[int, _Outcome]]]] = []
    transactional_id = getattr(request, "transactional_id", None)
    refused = 0
    if transactional_id is not None:
        refused = access.refusal(
            broker, ctx, Operation.WRITE, access.TRANSACTIONAL_ID, transactional_id
        )
    elif any(_transactional(p.records) for t in request.topic_data for p in t.partition_data):
        # Kafka's check: transactional batches need a transactional id to authorize.
        refused = TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    # A partition named twice is written and answered once, with its last batch: Kafka
    # keys the request by partition.
    wanted = last_entries(
        (t.name, ((p.index, p.records) for p in t.partition_data)) for t in request.topic_data
    )
    for name, batches in wanted.items():
        parts = []
        topic_refused = refused or access.refusal(broker, ctx, Operation.WRITE, access.TOPIC, name)
        for index, records in batches.items():
            if topic_refused:
                parts.append((index, _Outcome(topic_refused)))
            elif acks not in (0, 1, -1):
                parts.append((index, _Outcome(INVALID_REQUIRED_ACKS)))
            else:
                parts.append((index, _append(broker, ctx.api_version, name, index, records)))
        outcomes.append((name, parts))
    errors = broker.requests.errors_of(ApiKey.PRODUCE)
    for _, parts in outcomes:
        for _, outcome in parts:
            if outcome.error:
                errors[outcome.error] += 1
    throttle = 0
    if broker.quotas.enforces(PRODUCE_QUOTA):
        # Kafka counts the whole request against producer_byte_rate, answers at once
        # with the wait, and reads nothing more from the connection until it is over.
        throttle = broker.quotas.record(PRODUCE_QUOTA, ctx.user, ctx.client_id or "", ctx.size)
    if acks == 0:
        broker.quotas.mute(ctx.connection, throttle, PRODUCE_QUOTA)
        return None  # exempt from request_percentage, as on Kafka
    # Kafka charges request_percentage here too, and mutes for the longer wait.
    request_wait = request_quota.charge(broker, ctx)
    if request_wait > throttle:
        throttle = request_wait
        broker.quotas.mute(ctx.connection, throttle, REQUEST_QUOTA)
    else:
        broker.quotas.mute(ctx.connection, throttle, PRODUCE_QUOTA)
    if acks == -1:
        waits = [
            _durable(broker, o, errors)
            for _, parts in outcomes
            for _, o in parts
            if o.error == 0 and o.log is not None
        ]
        if waits:
            await asyncio.gather(*waits)
    # Hand-encoded (checked byte-for-byte against kio): kio's writer would be most of a
    # small produce request's cost.
    return encode_produce_response(
        ctx.api_version,
        ctx.correlation_id,
        [
            (
                name,
                [
                    PartitionResult(
                        index,
                        o.error,
                        o.base_offset,
                        o.log_append_time,
                        o.log_start,
                        o.message if o.error else None,
                        o.record_errors,
                    )
                    for index, o in parts
                ],
            )
            for name, parts in outcomes
        ],
        throttle_time_ms=throttle,
    )
