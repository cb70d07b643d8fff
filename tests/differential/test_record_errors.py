"""Differential: per-record produce errors (KIP-467) and when retention runs.

A batch refused because of some of its records names those records (`record_errors`:
batch index and message, plus a summary `error_message`) from Produce v8 on, so
librdkafka fails only them with the error and the rest with the retriable
`_INVALID_DIFFERENT_RECORD`. Records stamped long ago stay readable right after they were
written: both brokers apply retention only every `log.retention.check.interval.ms`.
"""

from __future__ import annotations

import datetime
import importlib
from typing import Any

import pytest
from kio.static.primitive import Records, i16, i32, i32Timedelta

from tests.clusters import Cluster
from tests.differential.harness import (
    assert_same,
    create_topic,
    observe,
    produce,
    read_partition,
    unique_topic,
    watermarks,
)
from tests.differential.wire import decode, encode, exchange, frame, record_batch

pytestmark = pytest.mark.kafka

PRODUCE = 0


def produce_raw(cluster: Cluster, topic: str, records: bytes, version: int) -> Any:
    """(error code, base offset, [(batch index, message)], error message) of partition 0."""
    # A raw client does not retry NOT_LEADER_OR_FOLLOWER: ask the leader for its offsets
    # first (librdkafka waits for a freshly created topic's leader).
    watermarks(cluster, topic)
    requests = importlib.import_module(f"kio.schema.produce.v{version}.request")
    body = requests.ProduceRequest(
        transactional_id=None,
        acks=i16(-1),
        timeout=i32Timedelta.parse(datetime.timedelta(seconds=10)),
        topic_data=(
            requests.TopicProduceData(
                name=topic,
                partition_data=(
                    requests.PartitionProduceData(index=i32(0), records=Records(records)),
                ),
            ),
        ),
    )
    responses = importlib.import_module(f"kio.schema.produce.v{version}.response")
    flexible = version >= 9
    reply = exchange(cluster.bootstrap, frame(PRODUCE, version, 5, encode(body), flexible))
    assert isinstance(reply, bytes), reply
    # Response header v1 (flexible) carries an empty tagged-field section.
    response = decode(responses.ProduceResponse, reply[5:] if flexible else reply[4:])
    (part,) = response.responses[0].partition_responses
    return (
        int(part.error_code),
        int(part.base_offset),
        [
            (int(e.batch_index), e.batch_index_error_message)
            for e in getattr(part, "record_errors", ())
        ],
        getattr(part, "error_message", None),
    )


def without_topic(answer: Any, topic: str) -> Any:
    """`answer` with the topic's name replaced by "<topic>" in every message."""
    error, offset, records, message = answer
    return (
        error,
        offset,
        [(index, text and text.replace(topic, "<topic>")) for index, text in records],
        message and message.replace(topic, "<topic>"),
    )


def test_compacted_topic_names_the_records_without_a_key(clusters: tuple[Cluster, ...]) -> None:
    """100 records to a compacted topic, 10 without a key: those 10 fail with
    INVALID_RECORD, the other 90 with _INVALID_DIFFERENT_RECORD, nothing is stored."""

    def scenario(cluster: Cluster) -> Any:
        topic = unique_topic("nokey")
        create_topic(cluster, topic, config={"cleanup.policy": "compact"})
        messages = [
            {"value": b"v%d" % i, "key": None if i % 10 == 3 else b"k%d" % i, "partition": 0}
            for i in range(100)
        ]
        reports = produce(
            cluster,
            topic,
            messages,
            warm=True,  # one batch of 100, also on a loaded machine
            **{"linger.ms": 1000, "batch.num.messages": 1000, "retries": 0},
        )
        errors = [name for _, _, name in reports]
        records, _ = read_partition(cluster, topic, 0, 0, 1)
        return errors, records

    seen = observe(clusters, scenario)
    errors, stored = seen["kafka"]
    assert errors == [
        "INVALID_RECORD" if i % 10 == 3 else "_INVALID_DIFFERENT_RECORD" for i in range(100)
    ]
    assert stored == []
    assert_same(seen)


@pytest.mark.parametrize("version", [7, 8, 9])
def test_record_errors_on_the_wire(clusters: tuple[Cluster, ...], version: int) -> None:
    """The raw answer: indexes, per-record messages and the summary, from v8 on (v7
    carries the error code only); a keyed batch is then accepted at offset 0."""

    def scenario(cluster: Cluster) -> Any:
        topic = unique_topic("recerr")
        create_topic(cluster, topic, config={"cleanup.policy": "compact"})
        keys: list[bytes | None] = [b"a", None, b"c", None, b"e"]
        bad = bytes(record_batch([b"1", b"2", b"3", b"4", b"5"], keys=keys))
        good = bytes(record_batch([b"1"], keys=[b"a"]))
        refused = produce_raw(cluster, topic, bad, version)
        # Topic names are unique per run: the messages name it.
        refused = without_topic(refused, topic)
        return refused, produce_raw(cluster, topic, good, version)

    seen = observe(clusters, scenario)
    refused, accepted = seen["kafka"]
    assert refused[0] == 87
    if version >= 8:
        assert [index for index, _ in refused[2]] == [1, 3]
    else:
        assert refused[2] == []
        assert refused[3] is None
    assert accepted == (0, 0, [], None)
    assert_same(seen)


def test_timestamps_out_of_range_are_named(clusters: tuple[Cluster, ...]) -> None:
    """message.timestamp.before/after.max.ms: the records outside the window are listed
    (INVALID_TIMESTAMP), judged per record, not by the batch's first and last stamp."""

    def scenario(cluster: Cluster) -> Any:
        topic = unique_topic("stamps")
        hour = 3_600_000
        create_topic(
            cluster,
            topic,
            config={
                "message.timestamp.before.max.ms": str(hour),
                "message.timestamp.after.max.ms": str(hour),
            },
        )
        now = int(datetime.datetime.now(tz=datetime.UTC).timestamp() * 1000)
        # First and last records are in range; the middle ones are not.
        deltas = [0, -5 * hour, 0, 5 * hour, 0]
        batch = bytes(record_batch([b"a"] * 5, timestamp=now, ts_deltas=deltas))
        error, offset, records, message = produce_raw(cluster, topic, batch, 9)
        # The messages quote the broker's clock and the rejected stamps: keep their shape.
        return error, offset, [index for index, _ in records], message is not None

    seen = observe(clusters, scenario)
    assert seen["kafka"] == (32, -1, [1, 3], True)
    assert_same(seen)


def test_producer_may_not_stamp_log_append_time(clusters: tuple[Cluster, ...]) -> None:
    """A batch whose attributes claim LogAppendTime is refused on a LogAppendTime topic,
    every record named (INVALID_TIMESTAMP); on a CreateTime topic its stamp is judged."""

    def scenario(cluster: Cluster) -> Any:
        seen = {}
        for label, kind in (("lat", "LogAppendTime"), ("create", "CreateTime")):
            topic = unique_topic(label)
            create_topic(cluster, topic, config={"message.timestamp.type": kind})
            keys: list[bytes | None] = [b"key", None]
            batch = bytes(record_batch([b"v1", b"value"], keys=keys, attributes=8))
            seen[label] = without_topic(produce_raw(cluster, topic, batch, 9), topic)
        return seen

    seen = observe(clusters, scenario)
    assert seen["kafka"]["lat"][0] == 32
    assert [index for index, _ in seen["kafka"]["lat"][2]] == [0, 1]
    assert seen["kafka"]["create"] == (0, 0, [], None)
    assert_same(seen)


def test_old_timestamps_readable_right_after_producing(clusters: tuple[Cluster, ...]) -> None:
    """Records stamped 1970 on a topic with retention.ms of a day are still there when a
    consumer reads right after producing: retention waits for its check interval."""

    def scenario(cluster: Cluster) -> Any:
        topic = unique_topic("old")
        create_topic(cluster, topic, config={"retention.ms": "86400000"})
        produce(
            cluster,
            topic,
            [{"value": b"old-%d" % i, "timestamp": 1_000 + i, "partition": 0} for i in range(5)],
        )
        records, errors = read_partition(cluster, topic, 0, 0, 5)
        return records, errors

    seen = observe(clusters, scenario)
    records, errors = seen["kafka"]
    assert [r[3] for r in records] == [b"old-%d" % i for i in range(5)]
    assert errors == []
    assert_same(seen)
