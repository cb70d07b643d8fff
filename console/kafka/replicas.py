"""Where partitions' copies live, and moving them: the operator's replication operations.

Owns ElectLeaders (preferred leader election for one topic or all), AlterPartitionReassignments
(new replica lists: moving copies to other brokers, or changing how many there are) and
ListPartitionReassignments (what is still moving). A refusal becomes `Refused` with Kafka's
own sentence, per partition. It must never decide who may do this nor plan the moves
(`console.reassignment` does); it sends exactly the replica lists it is given.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import ElectionType, KafkaError, KafkaException, TopicPartition

from console.kafka import clients, wire
from console.kafka.config import ClusterConfig
from console.kafka.errors import ClusterError, Refused, kafka_reason, readable

TP = tuple[str, int]


@dataclass(frozen=True)
class Moving:
    """A partition whose reassignment is under way."""

    topic: str
    partition: int
    replicas: tuple[int, ...]
    adding: tuple[int, ...]
    removing: tuple[int, ...]


def elect_preferred(cluster: ClusterConfig, partitions: Sequence[TP] | None) -> dict[TP, str]:
    """Make each partition's first replica its leader again; None means every partition.

    Returns {partition: ""} for each one elected and the reason for each one that was
    not; a partition already led by its preferred replica is not an error.
    """
    asked = None if partitions is None else [TopicPartition(t, p) for t, p in partitions]
    try:
        # No timeout keywords: confluent-kafka 2.16's binding rejects them for this call;
        # the future's own wait bounds it instead.
        result = (
            clients.of(cluster)
            .admin()
            .elect_leaders(ElectionType.PREFERRED, asked)
            .result(timeout=cluster.timeout_s + 1)
        )
    except KafkaException as exc:
        raise Refused(f"Could not elect preferred leaders: {kafka_reason(exc)}") from exc
    except Exception as exc:
        raise ClusterError(f"Could not elect preferred leaders: {readable(exc)}") from exc
    out: dict[TP, str] = {}
    for tp, err in result.items():
        # Each answer is None, a KafkaError, or a KafkaException holding one.
        if isinstance(err, KafkaException) and err.args:
            err = err.args[0]
        ok = err is None or (
            isinstance(err, KafkaError) and err.code() == KafkaError.ELECTION_NOT_NEEDED
        )
        out[(tp.topic, tp.partition)] = "" if ok else _said(err)
    return out


def reassign(cluster: ClusterConfig, moves: Mapping[TP, Sequence[int]]) -> None:
    """Ask the controller to give each partition the replica list in `moves`."""
    from kafka.protocol.admin import AlterPartitionReassignmentsRequest

    topic_cls = AlterPartitionReassignmentsRequest.ReassignableTopic
    part_cls = topic_cls.ReassignablePartition
    by_topic: dict[str, list[Any]] = defaultdict(list)
    for (topic, partition), replicas in sorted(moves.items()):
        by_topic[topic].append(part_cls(partition_index=partition, replicas=list(replicas)))
    request = AlterPartitionReassignmentsRequest(
        timeout_ms=int(cluster.timeout_s * 1000),
        topics=[topic_cls(name=name, partitions=parts) for name, parts in by_topic.items()],
        max_version=0,
    )
    answer = _ask(cluster, request, "reassign partitions")
    if answer.error_code:
        raise Refused(f"Could not reassign partitions: {_reason(answer)}")
    refused = [
        f"{t.name}-{p.partition_index}: {_reason(p)}"
        for t in answer.responses
        for p in t.partitions
        if p.error_code
    ]
    if refused:
        raise Refused("Could not reassign " + "; ".join(refused))


def in_progress(cluster: ClusterConfig) -> list[Moving]:
    """Every partition still being reassigned, sorted."""
    from kafka.protocol.admin import ListPartitionReassignmentsRequest

    request = ListPartitionReassignmentsRequest(
        timeout_ms=int(cluster.timeout_s * 1000), topics=None
    )
    answer = _ask(cluster, request, "list partition reassignments")
    if answer.error_code:
        raise Refused(f"Could not list partition reassignments: {_reason(answer)}")
    return sorted(
        (
            Moving(
                t.name,
                p.partition_index,
                tuple(p.replicas),
                tuple(p.adding_replicas),
                tuple(p.removing_replicas),
            )
            for t in answer.topics
            for p in t.partitions
        ),
        key=lambda m: (m.topic, m.partition),
    )


def _said(err: Any) -> str:
    return err.str() if isinstance(err, KafkaError) else str(err)


def _ask(cluster: ClusterConfig, request: Any, what: str) -> Any:
    async def send(manager: Any) -> Any:
        node = manager.least_loaded_node()
        answers = await wire.gather(manager, [(0, request, node)], cluster.timeout_s)
        return answers[0]

    answer = wire.run(cluster, what, send)
    if isinstance(answer, BaseException):
        raise ClusterError(f"Could not {what}: {readable(answer)}")
    return answer


def _reason(item: Any) -> str:
    from kafka import errors as kp_errors

    message = getattr(item, "error_message", None)
    return message or kp_errors.for_code(item.error_code).__name__
