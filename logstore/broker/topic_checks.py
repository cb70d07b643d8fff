"""The checks Kafka's controller makes of a CreateTopics or CreatePartitions entry before it
places any partition, with its error codes and messages.

A single node is a cluster of one registered broker: a manual assignment may name only this
broker, once per partition, and no replication factor above 1 can be reached. Owns the order
of those checks and their wording. It must never look at or change what is stored; what
exists (the topic, its partition count) is given by the caller; config values are judged
by storage's own rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from logstore.error_codes import (
    INVALID_CONFIG,
    INVALID_PARTITIONS,
    INVALID_REPLICA_ASSIGNMENT,
    INVALID_REPLICATION_FACTOR,
    INVALID_REQUEST,
)
from logstore.storage import InvalidConfigError
from logstore.storage.configs import validate_configs

Refusal = tuple[int, str] | None


def replicas_refusal(node_id: int, brokers: Sequence[int], replicas: int | None) -> Refusal:
    """One partition's manual replica list, as Kafka's validateManualPartitionAssignment
    (also what a reassignment's new list must pass)."""
    if not brokers:
        return INVALID_REPLICA_ASSIGNMENT, (
            "The manual partition assignment includes an empty replica list."
        )
    previous = None
    for broker in sorted(brokers):
        if broker != node_id:
            return INVALID_REPLICA_ASSIGNMENT, (
                f"The manual partition assignment includes broker {broker}, but no such "
                "broker is registered."
            )
        if broker == previous:
            return INVALID_REPLICA_ASSIGNMENT, (
                f"The manual partition assignment includes the broker {broker} more than once."
            )
        previous = broker
    if replicas is not None and len(brokers) != replicas:
        return INVALID_REPLICA_ASSIGNMENT, (
            f"The manual partition assignment includes a partition with {len(brokers)} "
            "replica(s), but this is not consistent with previous partitions, which have "
            f"{replicas} replica(s)."
        )
    return None


def create_refusal(topic: Any, node_id: int) -> Refusal:
    """Why a CreatableTopic cannot be created on this node, or None. Its configs are
    checked first, as Kafka checks them before the partitions."""
    for config in topic.configs:
        if config.value is None:
            return INVALID_CONFIG, f"Null value not supported for topic configs: {config.name}"
    try:
        validate_configs({c.name: c.value for c in topic.configs})
    except InvalidConfigError as exc:
        return INVALID_CONFIG, str(exc)
    if topic.assignments:
        # (Kafka's two messages spell the field differently.)
        for field, value in (("replication factor", topic.replication_factor),
                             ("numPartitions", topic.num_partitions)):  # fmt: skip
            if value != -1:
                return INVALID_REQUEST, (
                    f"A manual partition assignment was specified, but {field} was not set to -1."
                )
        replicas = None
        for index, assignment in enumerate(topic.assignments):
            if assignment.partition_index != index:
                return INVALID_REPLICA_ASSIGNMENT, (
                    "partitions should be a consecutive 0-based integer sequence"
                )
            refused = replicas_refusal(node_id, assignment.broker_ids, replicas)
            if refused:
                return refused
            replicas = len(assignment.broker_ids)
        return None
    if topic.replication_factor < -1 or topic.replication_factor == 0:
        return INVALID_REPLICATION_FACTOR, (
            "Replication factor must be larger than 0, or -1 to use the default value."
        )
    if topic.num_partitions < -1 or topic.num_partitions == 0:
        return INVALID_PARTITIONS, "Number of partitions was set to an invalid non-positive value."
    if topic.replication_factor > 1:
        factor = topic.replication_factor
        return INVALID_REPLICATION_FACTOR, (
            f"Unable to replicate the partition {factor} time(s): The target replication "
            f"factor of {factor} cannot be reached because only 1 broker(s) are registered "
            "or some brokers have all their log directories cordoned."
        )
    return None


def count_refusal(topic: Any, current: int) -> Refusal:
    """Why a CreatePartitionsTopic's count cannot grow a topic of `current` partitions (or
    its assignments do not match the growth), or None."""
    additional = topic.count - current
    if additional < 0:
        return INVALID_PARTITIONS, (
            f"The topic {topic.name} currently has {current} partition(s); {topic.count} "
            "would not be an increase."
        )
    if additional == 0:
        return INVALID_PARTITIONS, f"Topic already has {current} partition(s)."
    if topic.assignments is not None and additional != len(topic.assignments):
        return INVALID_REPLICA_ASSIGNMENT, (
            f"Attempted to add {additional} additional partition(s), but only "
            f"{len(topic.assignments)} assignment(s) were specified."
        )
    return None


def assignment_refusal(topic: Any, node_id: int) -> Refusal:
    """Why a CreatePartitionsTopic's manual assignments cannot be placed, or None (Kafka's
    controller checks them after the controller mutation quota)."""
    for assignment in topic.assignments or ():
        refused = replicas_refusal(node_id, assignment.broker_ids, 1)
        if refused:
            return refused
    return None
