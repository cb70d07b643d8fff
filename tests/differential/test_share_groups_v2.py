"""Differential: ShareFetch and ShareAcknowledge v2 (Kafka 4.2+: KIP-1206, KIP-1222).

v2 adds the RENEW acknowledgement (type 4: the member keeps its records and their
acquisition lock starts again), the `IsRenewAck` flag that must accompany it, the
acquisition lock timeout in ShareAcknowledge answers, and `ShareAcquireMode` (record_limit
never acquires more than MaxRecords, batch_optimized may round up to whole batches). Raw
requests over one connection per member; both brokers must answer the same codes and
acquire the same ranges.
"""

from __future__ import annotations

import datetime
import time
import uuid
from typing import Any

import pytest
from kio.schema.share_acknowledge.v2 import request as ack_v2
from kio.schema.share_fetch.v2 import request as fetch_v2

from tests.clusters import Cluster
from tests.differential.harness import assert_same, observe, produce
from tests.differential.test_share_groups import (
    ACQUIRE_DEADLINE_S,
    SHARE_ACK,
    SHARE_FETCH,
    Conn,
    _acquired,
    _join,
    _part_errors,
    five_records,
    set_group_config,
)

pytestmark = pytest.mark.kafka

ACCEPT, RENEW = 1, 4
BATCH_OPTIMIZED, RECORD_LIMIT = 0, 1


def _batches(module: Any, acks: list[tuple[int, int, int]]) -> tuple[Any, ...]:
    return tuple(
        module.AcknowledgementBatch(first_offset=f, last_offset=la, acknowledge_types=(t,))
        for f, la, t in acks
    )


class Member:
    """One member's connection and share-session epoch (which moves on answered requests
    only: a request refused as a whole leaves it where it was)."""

    def __init__(self, cluster: Cluster, group: str, topic: str, tid: uuid.UUID) -> None:
        self.group, self.tid, self.id = group, tid, str(uuid.uuid4())
        _join(cluster, group, self.id, topic)
        self.conn = Conn(cluster)
        self.epoch = 0

    def _call(self, api_key: int, entity: str, **fields: Any) -> Any:
        reply = self.conn.call(
            api_key, 2, entity, group_id=self.group, member_id=self.id,
            share_session_epoch=self.epoch, **fields,
        )  # fmt: skip
        if reply.error_code == 0:
            self.epoch += 1
        return reply

    def fetch(
        self,
        acks: list[tuple[int, int, int]] = (),  # type: ignore[assignment]
        *,
        renew: bool = False,
        mode: int = BATCH_OPTIMIZED,
        max_records: int = 500,
        wait_ms: int = 200,
    ) -> Any:
        part = fetch_v2.FetchPartition(
            partition_index=0, acknowledgement_batches=_batches(fetch_v2, list(acks))
        )
        quiet = renew and max_records == 0
        return self._call(
            SHARE_FETCH, "ShareFetchRequest",
            max_wait=datetime.timedelta(milliseconds=0 if quiet else wait_ms),
            min_bytes=0 if quiet else 1, max_bytes=0 if quiet else 1 << 20,
            max_records=max_records, batch_size=0 if quiet else 500,
            share_acquire_mode=mode, is_renew_ack=renew,
            topics=(fetch_v2.FetchTopic(topic_id=self.tid, partitions=(part,)),),
            forgotten_topics_data=(),
        )  # fmt: skip

    def fetch_until_acquired(self, **kwargs: Any) -> Any:
        deadline = time.monotonic() + ACQUIRE_DEADLINE_S
        reply = self.fetch(**kwargs)
        while not _acquired(reply) and time.monotonic() < deadline:
            reply = self.fetch(**kwargs)
        return reply

    def ack(self, acks: list[tuple[int, int, int]], *, renew: bool) -> Any:
        part = ack_v2.AcknowledgePartition(
            partition_index=0, acknowledgement_batches=_batches(ack_v2, acks)
        )
        return self._call(
            SHARE_ACK, "ShareAcknowledgeRequest", is_renew_ack=renew,
            topics=(ack_v2.AcknowledgeTopic(topic_id=self.tid, partitions=(part,)),),
        )  # fmt: skip


def _seen(reply: Any) -> tuple[Any, ...]:
    fetched = all(hasattr(p, "acquired_records") for t in reply.responses for p in t.partitions)
    return int(reply.error_code), _part_errors(reply), _acquired(reply) if fetched else None


def _lock_ms(reply: Any) -> int:
    return int(reply.acquisition_lock_timeout.total_seconds() * 1000)


def scenario(cluster: Cluster) -> dict[str, Any]:
    topic, tid, group = five_records(cluster, "share-v2")
    set_group_config(cluster, group, "share.auto.offset.reset", "earliest")
    a, b = Member(cluster, group, topic, tid), Member(cluster, group, topic, tid)
    out: dict[str, Any] = {}
    try:
        first = a.fetch_until_acquired()
        out["first"] = (_seen(first), _lock_ms(first))
        out["renew, flag unset"] = _seen(a.fetch([(0, 4, RENEW)]))
        out["renew, fetch params set"] = _seen(a.fetch([(0, 4, RENEW)], renew=True))
        out["renew in fetch"] = _seen(a.fetch([(0, 4, RENEW)], renew=True, max_records=0))
        renewed = a.ack([(0, 4, RENEW)], renew=True)
        out["renew in ack"] = (_seen(renewed), _lock_ms(renewed))
        out["renew unflagged in ack"] = _seen(a.ack([(0, 4, RENEW)], renew=False))
        out["b opens"] = _seen(b.fetch())
        out["b renews a's"] = _seen(b.ack([(0, 4, RENEW)], renew=True))
        out["accept after renew"] = _seen(a.ack([(0, 4, ACCEPT)], renew=False))
        produce(cluster, topic, [{"value": b"n%d" % i, "partition": 0} for i in range(10)])
        out["record limit"] = _seen(
            a.fetch_until_acquired(mode=RECORD_LIMIT, max_records=3, wait_ms=2000)
        )
        out["batch optimized"] = _seen(a.fetch(max_records=3))
        out["unknown mode"] = _seen(a.fetch(mode=7, max_records=3))
    finally:
        a.conn.close()
        b.conn.close()
    return out


def test_share_fetch_and_acknowledge_v2_match_kafka(clusters: tuple[Cluster, Cluster]) -> None:
    assert_same(observe(clusters, scenario))
