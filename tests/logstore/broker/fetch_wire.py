"""Test helper: one-partition Fetch and ListOffsets over the raw wire, at either
isolation level, returning what the broker said (kio objects / plain tuples)."""

from __future__ import annotations

from typing import Any

from logstore.broker.build import make
from logstore.protocol.api_keys import ApiKey
from logstore.records import iter_headers
from tests.logstore.broker.wire import Wire, schema


def fetch(
    wire: Wire, topic: str, version: int, isolation: int, offset: int, max_bytes: int = 1 << 20
) -> Any:
    """The whole answer to a sessionless Fetch of partition 0 at `offset` (a throttled
    answer lists no partition)."""
    fetch = schema(ApiKey.FETCH, version)
    fields: dict[str, Any] = {}
    if version >= 7:
        fields = {"session_id": 0, "session_epoch": -1, "forgotten_topics_data": ()}
    if version >= 11:
        fields["rack_id"] = ""
    part: dict[str, Any] = {
        "partition": 0,
        "fetch_offset": offset,
        "partition_max_bytes": max_bytes,
    }
    if version >= 5:
        part["log_start_offset"] = -1
    if version >= 9:
        part["current_leader_epoch"] = -1
    return wire.request(
        ApiKey.FETCH,
        version,
        replica_id=-1,
        max_wait=0,
        min_bytes=0,
        max_bytes=max_bytes,
        isolation_level=isolation,
        topics=(
            make(fetch.FetchTopic, topic=topic, partitions=(make(fetch.FetchPartition, **part),)),
        ),
        **fields,
    )


def fetch_partition(
    wire: Wire, topic: str, version: int, isolation: int, offset: int, max_bytes: int = 1 << 20
) -> Any:
    """The single partition answer of a sessionless Fetch at `offset`."""
    return fetch(wire, topic, version, isolation, offset, max_bytes).responses[0].partitions[0]


def batch_offsets(records: bytes | None) -> list[tuple[int, bool]]:
    """(base offset, is control) of every whole batch in a fetched record set."""
    return [(h.base_offset, h.is_control) for _, h in iter_headers(records or b"")]


def aborted(partition: Any) -> list[tuple[int, int]] | None:
    if partition.aborted_transactions is None:
        return None
    return [(a.producer_id, a.first_offset) for a in partition.aborted_transactions]


def list_offset(wire: Wire, topic: str, timestamp: int, isolation: int, version: int = 7) -> Any:
    """(error, offset, timestamp) of ListOffsets for partition 0."""
    req = schema(ApiKey.LIST_OFFSETS, version)
    part = make(req.ListOffsetsPartition, partition_index=0, timestamp=timestamp)
    response = wire.request(
        ApiKey.LIST_OFFSETS,
        version,
        replica_id=-1,
        isolation_level=isolation,
        topics=(make(req.ListOffsetsTopic, name=topic, partitions=(part,)),),
    )
    p = response.topics[0].partitions[0]
    return p.error_code, p.offset, p.timestamp


def describe_producers(wire: Wire, topic: str) -> Any:
    """The active producers DescribeProducers (v0) lists for partition 0."""
    req = schema(ApiKey.DESCRIBE_PRODUCERS, 0)
    response = wire.request(
        ApiKey.DESCRIBE_PRODUCERS,
        0,
        topics=(make(req.TopicRequest, name=topic, partition_indexes=(0,)),),
    )
    part = response.topics[0].partitions[0]
    assert part.error_code == 0, part
    return part.active_producers
