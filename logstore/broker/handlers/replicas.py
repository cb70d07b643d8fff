"""ElectLeaders (key 43, v0–2), AlterPartitionReassignments (key 45, v0–1) and
ListPartitionReassignments (key 46, v0), answered as a one-broker Kafka's controller answers
them, so `kafka-leader-election.sh`, `kafka-reassign-partitions.sh` and admin clients work
against the bundled broker unchanged.

On one node each partition has one replica, this broker, and it leads: an election is never
needed (ELECTION_NOT_NEEDED) unless the partition is offline, where no replica can take the
lead; a reassignment may only name this broker, once, which changes nothing; and nothing is
ever being reassigned. Owns these answers, their per-partition errors with Kafka's
controller messages, and the cluster-permission checks in front of them (ALTER to elect or
reassign, DESCRIBE to list). It must never change what is stored or who leads.
"""

from __future__ import annotations

from typing import Any

from logstore.broker import access
from logstore.broker.api import RequestContext, handles
from logstore.broker.build import make
from logstore.broker.context import Broker
from logstore.broker.topic_checks import replicas_refusal
from logstore.error_codes import (
    ELECTION_NOT_NEEDED,
    ELIGIBLE_LEADERS_NOT_AVAILABLE,
    INVALID_REQUEST,
    NO_REASSIGNMENT_IN_PROGRESS,
    PREFERRED_LEADER_NOT_AVAILABLE,
    UNKNOWN_TOPIC_OR_PARTITION,
)
from logstore.protocol.api_keys import ApiKey
from logstore.security.acls import Operation

PREFERRED, UNCLEAN = 0, 1
# Kafka's default messages for these codes (`Errors`), which its controller sends.
_MESSAGES = {
    ELECTION_NOT_NEEDED: "Leader election not needed for topic partition.",
    PREFERRED_LEADER_NOT_AVAILABLE: "The preferred leader was not available.",
    ELIGIBLE_LEADERS_NOT_AVAILABLE: "Eligible topic partition leaders are not available.",
}


def _denied(operation: str) -> str:
    # Kafka's message names the request as its network layer saw it, then the permission.
    return f"Cluster authorization failed: the request needs {operation} permission."


Outcome = tuple[int, str | None]


def _offline(broker: Broker, topic: str, index: int) -> bool:
    try:
        return bool(broker.logs.log(topic, index).recovery_error)
    except Exception:
        return True  # a log that cannot be opened has no leader either


def _election(broker: Broker, topic: str, index: int, election: int) -> Outcome:
    """One partition's election, as Kafka's `ReplicationControlManager.electLeader`."""
    info = broker.logs.topic(topic)
    if info is None:
        return UNKNOWN_TOPIC_OR_PARTITION, f"No such topic as {topic}"
    if not 0 <= index < info.partitions:
        return UNKNOWN_TOPIC_OR_PARTITION, f"No such partition as {topic}-{index}"
    if not _offline(broker, topic, index):
        return ELECTION_NOT_NEEDED, _MESSAGES[ELECTION_NOT_NEEDED]
    code = (
        PREFERRED_LEADER_NOT_AVAILABLE if election == PREFERRED else ELIGIBLE_LEADERS_NOT_AVAILABLE
    )
    return code, _MESSAGES[code]


@handles(ApiKey.ELECT_LEADERS, min_version=0, max_version=2)
async def elect_leaders(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    schema = ctx.schema
    election = int(getattr(request, "election_type", PREFERRED))
    refused = access.refusal(broker, ctx, Operation.ALTER, access.CLUSTER)
    error: Outcome = (0, None)
    if refused:
        error = refused, _denied("ALTER")
    elif election not in (PREFERRED, UNCLEAN):
        error = INVALID_REQUEST, f"Unknown election type {election}"

    def result(index: int, outcome: Outcome) -> Any:
        code, message = outcome
        return make(
            schema.PartitionResult, partition_id=index, error_code=code, error_message=message
        )

    def topic_result(name: str, partitions: list[Any]) -> Any:
        return make(schema.ReplicaElectionResult, topic=name, partition_result=tuple(partitions))

    if error[0]:
        # As Kafka's error response: the request's own partitions, each with the error.
        results = tuple(
            topic_result(t.topic, [result(p, error) for p in t.partitions])
            for t in request.topic_partitions or ()
        )
    elif request.topic_partitions is None:
        # Every partition; those already led by the replica asked for are left out.
        results = tuple(
            topic_result(
                info.name,
                [
                    result(p, outcome)
                    for p in range(info.partitions)
                    if (outcome := _election(broker, info.name, p, election))[0]
                    != ELECTION_NOT_NEEDED
                ],
            )
            for info in broker.logs.topics()
        )
    else:
        results = tuple(
            topic_result(
                t.topic, [result(p, _election(broker, t.topic, p, election)) for p in t.partitions]
            )
            for t in request.topic_partitions
        )
    return make(
        ctx.response_class,
        throttle_time=0,
        error_code=error[0],
        replica_election_results=results,
    )


def _reassignment(broker: Broker, topic: str, target: Any) -> Outcome:
    """One partition's new replica list, as Kafka's `alterPartitionReassignment`."""
    info = broker.logs.topic(topic)
    if info is None:
        return UNKNOWN_TOPIC_OR_PARTITION, f"Unable to find a topic named {topic}."
    index = target.partition_index
    if not 0 <= index < info.partitions:
        return UNKNOWN_TOPIC_OR_PARTITION, f"Unable to find partition {topic}:{index}."
    if target.replicas is None:  # a cancellation: there is never one to cancel
        # (Kafka's exception carries the code's default message, which its answer drops.)
        return NO_REASSIGNMENT_IN_PROGRESS, None
    refused = replicas_refusal(broker.config.node_id, target.replicas, None)
    return refused if refused is not None else (0, None)


@handles(ApiKey.ALTER_PARTITION_REASSIGNMENTS, min_version=0, max_version=1)
async def alter_partition_reassignments(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    schema = ctx.schema
    refused = access.refusal(broker, ctx, Operation.ALTER, access.CLUSTER)
    error: Outcome = (refused, _denied("ALTER")) if refused else (0, None)

    def answer(topic: str, target: Any) -> Any:
        # Refused, every partition carries the error, as Kafka's error response does.
        code, message = error if refused else _reassignment(broker, topic, target)
        return make(
            schema.ReassignablePartitionResponse,
            partition_index=target.partition_index,
            error_code=code,
            error_message=message,
        )

    responses = tuple(
        make(
            schema.ReassignableTopicResponse,
            name=t.name,
            partitions=tuple(answer(t.name, p) for p in t.partitions),
        )
        for t in request.topics
    )
    return make(
        ctx.response_class,
        throttle_time=0,
        allow_replication_factor_change=getattr(request, "allow_replication_factor_change", True),
        error_code=error[0],
        error_message=error[1],
        responses=responses,
    )


@handles(ApiKey.LIST_PARTITION_REASSIGNMENTS, min_version=0, max_version=0)
async def list_partition_reassignments(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    refused = access.refusal(broker, ctx, Operation.DESCRIBE, access.CLUSTER)
    return make(
        ctx.response_class,
        throttle_time=0,
        error_code=refused,
        error_message=_denied("DESCRIBE") if refused else None,
        topics=(),  # nothing is ever being reassigned on one node
    )
