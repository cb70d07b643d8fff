"""Reading share-partition state with ReadShareGroupState (84), where the cluster keeps it
in no `__share_group_state` topic (the bundled broker, whose share coordinator answers it
from its own files).

Owns one request for a group's share-partitions to the cluster's least loaded broker (a
single-node cluster's only one: this path is for clusters without the topic, which a
multi-broker Kafka cluster running share groups always has) and the check that the broker
advertises the API at all. Turning spans into records-in-flight figures is
`console.share_state`'s. It must never write share state (the leader epoch it sends is -1,
which Kafka's coordinator treats as a plain read).
"""

from __future__ import annotations

import uuid
from typing import Any

from console.kafka import wire
from console.kafka.config import ClusterConfig
from console.kafka.errors import NotAuthorized

READ_SHARE_GROUP_STATE = 84
CLUSTER_AUTHORIZATION_FAILED = 31

# (first offset, last offset, state, delivery count)
Batch = tuple[int, int, int, int]


def read(
    cluster: ClusterConfig, group_id: str, partitions: list[tuple[uuid.UUID, int]]
) -> dict[tuple[uuid.UUID, int], tuple[int, list[Batch]]] | None:
    """{(topic id, partition): (start offset, persisted spans)} for each share-partition the
    broker answered without error (start offset -1: no state yet); None when the broker
    does not serve ReadShareGroupState. `NotAuthorized` when the console's principal lacks
    CLUSTER_ACTION, which Kafka requires for it."""
    from console.kafka.share_wire import ReadShareGroupStateRequest

    topic_cls = ReadShareGroupStateRequest.ReadStateData
    by_topic: dict[uuid.UUID, list[int]] = {}
    for topic_id, partition in partitions:
        by_topic.setdefault(topic_id, []).append(partition)

    async def send(manager: Any) -> Any:
        node = manager.least_loaded_node()
        conn = await manager.get_connection(node)
        if READ_SHARE_GROUP_STATE not in conn.broker_version_data.api_versions:
            return None
        request = ReadShareGroupStateRequest(
            group_id=group_id,
            topics=[
                topic_cls(
                    topic_id=t,
                    partitions=[
                        topic_cls.PartitionData(partition=p, leader_epoch=-1) for p in sorted(ps)
                    ],
                )
                for t, ps in by_topic.items()
            ],
            max_version=0,
        )
        return await manager.wait_for(
            manager.send(request, node_id=node), int(cluster.timeout_s * 1000)
        )

    answer = wire.run(cluster, "read the share group's state", send)
    if answer is None:
        return None
    out: dict[tuple[uuid.UUID, int], tuple[int, list[Batch]]] = {}
    for topic in answer.results:
        for p in topic.partitions:
            if p.error_code == CLUSTER_AUTHORIZATION_FAILED:
                raise NotAuthorized("CLUSTER_ACTION", "the cluster", "read share-partition state")
            if p.error_code:
                continue
            out[(topic.topic_id, p.partition)] = (
                int(p.start_offset),
                [
                    (
                        int(b.first_offset),
                        int(b.last_offset),
                        int(b.delivery_state),
                        int(b.delivery_count),
                    )
                    for b in p.state_batches
                ],
            )
    return out
