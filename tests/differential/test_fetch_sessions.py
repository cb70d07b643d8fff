"""Differential: incremental fetch sessions (KIP-227) answered as Apache Kafka answers them.

Raw Fetch v11/v12 requests over fresh connections (sessions belong to the broker, not to a
connection). Session ids are random, so observations keep only whether an id was given
and whether it is the one the scenario already holds.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

import pytest
from confluent_kafka import TopicPartition
from kio.index import load_payload_module
from kio.static.constants import EntityType

from tests.clusters import Cluster
from tests.differential.harness import (
    TIMEOUT,
    admin,
    assert_same,
    create_topic,
    observe,
    produce,
    unique_topic,
)
from tests.differential.wire import decode, encode, exchange, frame

pytestmark = pytest.mark.kafka

FETCH = 1
TIMESTAMP = 1_600_000_000_000


class Session:
    """One client's view of a fetch session on `cluster`, driven by hand."""

    def __init__(self, cluster: Cluster, topic: str, version: int = 11) -> None:
        self.cluster = cluster
        self.topic = topic
        self.version = version
        self.req = load_payload_module(FETCH, version, EntityType.request)
        self.resp = load_payload_module(FETCH, version, EntityType.response)
        self.correlation = 0

    def fetch(
        self,
        session_id: int,
        epoch: int,
        partitions: dict[int, int],
        forgotten: tuple[int, ...] = (),
    ) -> Any:
        extra: dict[str, Any] = {"last_fetched_epoch": -1} if self.version >= 12 else {}
        parts = tuple(
            self.req.FetchPartition(
                partition=p,
                current_leader_epoch=-1,
                fetch_offset=offset,
                log_start_offset=-1,
                partition_max_bytes=1 << 20,
                **extra,
            )
            for p, offset in partitions.items()
        )
        topics = (self.req.FetchTopic(topic=self.topic, partitions=parts),) if parts else ()
        forget = (
            (self.req.ForgottenTopic(topic=self.topic, partitions=forgotten),) if forgotten else ()
        )
        request = self.req.FetchRequest(
            replica_id=-1,
            max_wait=datetime.timedelta(milliseconds=0),
            min_bytes=0,
            max_bytes=1 << 20,
            isolation_level=0,
            session_id=session_id,
            session_epoch=epoch,
            topics=topics,
            forgotten_topics_data=forget,
            rack_id="",
        )
        self.correlation += 1
        flexible = self.version >= 12
        reply = exchange(
            self.cluster.bootstrap,
            frame(FETCH, self.version, self.correlation, encode(request), flexible=flexible),
        )
        assert isinstance(reply, bytes), reply
        return decode(self.resp.FetchResponse, reply[5 if flexible else 4 :])


def view(reply: Any, known: int | None = None) -> tuple[Any, ...]:
    """(error, session: "none"/"same"/"new", [(partition, error, hw, log start, has records)])."""
    session = "none" if reply.session_id == 0 else "same" if reply.session_id == known else "new"
    partitions = [
        (
            int(p.partition_index),
            int(p.error_code),
            int(p.high_watermark),
            int(p.log_start_offset),
            bool(p.records),
        )
        for t in reply.responses
        for p in t.partitions
    ]
    return int(reply.error_code), session, partitions


def fill(cluster: Cluster, topic: str, partition: int, count: int) -> None:
    messages = [{"value": b"v", "partition": partition, "timestamp": TIMESTAMP}] * count
    reports = produce(cluster, topic, messages)
    assert all(r[2] == "OK" for r in reports), reports


def wait_served(cluster: Cluster, topic: str, partitions: int, version: int) -> None:
    """Until a sessionless Fetch of every partition comes back without an error. Kafka can
    answer NOT_LEADER_OR_FOLLOWER for a partition nobody has produced to yet for a moment
    after CreateTopics returns (seen under CI load); a scenario that opens a session on
    such a partition would then record that moment instead of the session's behaviour."""
    probe = Session(cluster, topic, version)
    deadline = time.monotonic() + TIMEOUT
    while True:
        reply = probe.fetch(0, -1, dict.fromkeys(range(partitions), 0))
        errors = [int(p.error_code) for t in reply.responses for p in t.partitions]
        if len(errors) == partitions and not any(errors):
            return
        assert time.monotonic() < deadline, f"{cluster.name}: partitions still answer {errors}"
        time.sleep(0.05)


@pytest.mark.parametrize("version", [11, 12])
def test_session_lifecycle(clusters: tuple[Cluster, ...], version: int) -> None:
    def scenario(cluster: Cluster) -> list[Any]:
        topic = unique_topic("sessions")
        create_topic(cluster, topic, partitions=2)
        wait_served(cluster, topic, 2, version)
        fill(cluster, topic, 0, 3)
        s = Session(cluster, topic, version)
        seen = []
        full = s.fetch(0, 0, {0: 0, 1: 0})
        seen.append(view(full))
        sid = full.session_id
        # Nothing changed since the full reply: no partitions at all.
        seen.append(view(s.fetch(sid, 1, {0: 3}), sid))
        # The same epoch again, then an id nobody holds.
        seen.append(view(s.fetch(sid, 1, {}), sid))
        seen.append(view(s.fetch(sid ^ 0x5A5A5A, 2, {}), sid))
        # New records on partition 1 only: only partition 1 comes back.
        fill(cluster, topic, 1, 2)
        seen.append(view(s.fetch(sid, 2, {}), sid))
        # Forget partition 1: its new records are no longer reported.
        fill(cluster, topic, 1, 1)
        seen.append(view(s.fetch(sid, 3, {}, forgotten=(1,)), sid))
        # Forgetting the last partition closes the session.
        seen.append(view(s.fetch(sid, 4, {}, forgotten=(0,)), sid))
        seen.append(view(s.fetch(sid, 5, {}), sid))
        return seen

    seen = observe(clusters, scenario)
    assert_same(seen)
    assert seen["kafka"][0] == (0, "new", [(0, 0, 3, 0, True), (1, 0, 0, 0, False)])
    assert seen["kafka"][1] == (0, "same", [])


def test_full_requests_close_the_session_they_name(clusters: tuple[Cluster, ...]) -> None:
    def scenario(cluster: Cluster) -> list[Any]:
        topic = unique_topic("sessions-reset")
        create_topic(cluster, topic)
        fill(cluster, topic, 0, 2)
        s = Session(cluster, topic)
        seen = []
        first = s.fetch(0, 0, {0: 0}).session_id
        # Epoch 0 naming a session: that one closes, a new one opens.
        again = s.fetch(first, 0, {0: 2})
        seen.append(view(again, first))
        seen.append(view(s.fetch(first, 1, {}), first))
        # Epoch -1 (final): the named session closes and none opens.
        final = s.fetch(again.session_id, -1, {0: 0})
        seen.append(view(final, again.session_id))
        seen.append(view(s.fetch(again.session_id, 1, {}), again.session_id))
        # Incremental with a changed fetch offset and a new partition index (unknown).
        third = s.fetch(0, 0, {0: 0}).session_id
        seen.append(view(s.fetch(third, 1, {0: 1, 5: 0}), third))
        seen.append(view(s.fetch(third, 2, {}), third))
        return seen

    assert_same(observe(clusters, scenario))


def test_a_moved_log_start_is_reported_and_an_out_of_range_offset_each_time(
    clusters: tuple[Cluster, ...],
) -> None:
    def scenario(cluster: Cluster) -> list[Any]:
        topic = unique_topic("sessions-start")
        create_topic(cluster, topic)
        fill(cluster, topic, 0, 5)
        s = Session(cluster, topic)
        seen = []
        sid = s.fetch(0, 0, {0: 5}).session_id
        seen.append(view(s.fetch(sid, 1, {}), sid))
        # DeleteRecords moves the log start: the caught-up partition is sent again.
        client = admin(cluster)  # kept alive until its future resolves
        futures = client.delete_records([TopicPartition(topic, 0, 3)], request_timeout=TIMEOUT)
        next(iter(futures.values())).result(timeout=TIMEOUT)
        seen.append(view(s.fetch(sid, 2, {}), sid))
        seen.append(view(s.fetch(sid, 3, {}), sid))
        # An offset below the new start: the error comes back on every fetch.
        seen.append(view(s.fetch(sid, 4, {0: 1}), sid))
        seen.append(view(s.fetch(sid, 5, {}), sid))
        return seen

    seen = observe(clusters, scenario)
    assert_same(seen)
    assert seen["kafka"][1] == (0, "same", [(0, 0, 5, 3, False)])
