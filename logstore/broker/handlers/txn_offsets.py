"""TxnOffsetCommit (v0–4): a transactional producer commits a consumer group's offsets.

Owns the request's checks in Kafka's order: unknown topics and partitions answered per
partition first (they never reach the coordinator), then for the rest the coordinator's
availability, the group id, the transaction (the producer's epoch and, when a transaction
coordinator is attached, that the group's offsets partition is in its transaction, its
answer worded for the request's version), the group's generation and member (v3+),
metadata size per partition; what passes is written
as pending transactional offsets. Version 5 (transactions v2, an implicit
AddOffsetsToTxn) is not served. It must never touch `__consumer_offsets` itself.
"""

from __future__ import annotations

from typing import Any

from logstore.broker import access
from logstore.broker.api import RequestContext, handles
from logstore.broker.context import Broker
from logstore.broker.handlers.groups import coordinator_of
from logstore.broker.handlers.offsets import (
    MAX_METADATA_BYTES,
    commit_failure,
    commit_response,
    partition_error,
)
from logstore.error_codes import (
    INVALID_PRODUCER_EPOCH,
    INVALID_TXN_STATE,
    OFFSET_METADATA_TOO_LARGE,
    PRODUCER_FENCED,
    TRANSACTION_ABORTABLE,
)
from logstore.groups import errors as err
from logstore.groups.offsets import CommittedOffset
from logstore.protocol.api_keys import ApiKey
from logstore.security.acls import Operation

Results = dict[tuple[str, int], int]


@handles(ApiKey.TXN_OFFSET_COMMIT, min_version=0, max_version=4)
async def txn_offset_commit(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    # Kafka's order: the partitions refused before the coordinator first (per topic, in
    # request order), then the coordinator's answers appended to their topics.
    refused: Results = {}
    valid: list[tuple[str, Any]] = []
    # Kafka's authorization order: the transactional id, the group, then each topic.
    denied = access.refusal(
        broker, ctx, Operation.WRITE, access.TRANSACTIONAL_ID, request.transactional_id
    ) or access.refusal(broker, ctx, Operation.READ, access.GROUP, request.group_id)
    for topic in request.topics:
        topic_denied = denied or access.refusal(
            broker, ctx, Operation.READ, access.TOPIC, topic.name
        )
        for p in topic.partitions:
            code = topic_denied or partition_error(broker, topic.name, p.partition_index)
            if code:
                refused[(topic.name, p.partition_index)] = code
            else:
                valid.append((topic.name, p))
    results: Results = {}
    if valid:
        await _commit(broker, ctx.api_version, request, valid, results)
    by_topic: dict[str, list[tuple[int, int]]] = {}
    for (name, i), code in [*refused.items(), *results.items()]:
        by_topic.setdefault(name, []).append((i, code))
    return commit_response(ctx, "TxnOffsetCommit", list(by_topic.items()))


def _for_version(code: int, version: int) -> int:
    """A verification error as Kafka answers it: a fenced producer is INVALID_PRODUCER_EPOCH
    at every version; "not in the transaction" is TRANSACTION_ABORTABLE only from v4 (the
    version that knows it), INVALID_TXN_STATE before."""
    if code == PRODUCER_FENCED:
        return INVALID_PRODUCER_EPOCH
    if code == TRANSACTION_ABORTABLE and version < 4:
        return INVALID_TXN_STATE
    return code


async def _commit(
    broker: Broker, version: int, request: Any, valid: list[tuple[str, Any]], results: Results
) -> None:
    """Decide and write the partitions that exist; every outcome lands in `results`."""
    coord = coordinator_of(broker)
    if coord is None:
        code = err.COORDINATOR_NOT_AVAILABLE
    elif not request.group_id:
        code = err.INVALID_GROUP_ID
    else:
        verified = await coord.verify_transaction(
            request.group_id, request.transactional_id, request.producer_id, request.producer_epoch
        )
        code = _for_version(verified, version) or coord.validate_txn_commit(
            request.group_id,
            getattr(request, "member_id", ""),
            getattr(request, "generation_id", -1),
            getattr(request, "group_instance_id", None),
        )
    if code or coord is None:
        for name, p in valid:
            results[(name, p.partition_index)] = code
        return
    now = broker.clock.now_ms()
    entries: list[tuple[str, int, CommittedOffset]] = []
    for name, p in valid:
        metadata = p.committed_metadata
        if metadata is not None and len(metadata.encode()) > MAX_METADATA_BYTES:
            results[(name, p.partition_index)] = OFFSET_METADATA_TOO_LARGE
            continue
        results[(name, p.partition_index)] = err.NONE
        epoch = getattr(p, "committed_leader_epoch", -1)
        entries.append(
            (name, p.partition_index, CommittedOffset(p.committed_offset, epoch, metadata, now))
        )
    try:
        await coord.commit_transactional(
            request.group_id, request.producer_id, request.producer_epoch, entries
        )
    except Exception as exc:
        # Not acknowledged: the producer retries or aborts (whatever reached the log is
        # pending and ends with the transaction's marker).
        for name, partition, _ in entries:
            results[(name, partition)] = commit_failure(exc)
