"""Differential: malformed frames, bad requests and bad records get Kafka's treatment."""

from __future__ import annotations

import datetime
import struct
import uuid
from typing import Any

import pytest
from kio.schema.api_versions.v0.response import ApiVersionsResponse
from kio.schema.fetch.v11.request import FetchPartition, FetchRequest, FetchTopic
from kio.schema.fetch.v11.response import FetchResponse
from kio.schema.metadata.v4.request import MetadataRequest, MetadataRequestTopic
from kio.schema.metadata.v4.response import MetadataResponse
from kio.schema.produce.v7.request import PartitionProduceData, ProduceRequest, TopicProduceData
from kio.schema.produce.v7.response import ProduceResponse
from kio.schema.types import TopicName
from kio.static.primitive import Records, i16, i32, i32Timedelta, i64

from tests.clusters import Cluster
from tests.differential.harness import assert_same, create_topic, observe, produce, unique_topic
from tests.differential.wire import decode, encode, exchange, frame, record_batch

pytestmark = pytest.mark.kafka

API_VERSIONS, METADATA, PRODUCE, FETCH = 18, 3, 0, 1


def api_versions_v0(cluster: Cluster, version: int) -> Any:
    # ApiVersions v3+ uses request header v2 (so does any unknown, newer version).
    reply = exchange(
        cluster.bootstrap, frame(API_VERSIONS, version, 77, b"", flexible=version >= 3)
    )
    if isinstance(reply, str):
        return reply
    (correlation_id,) = struct.unpack_from(">i", reply)
    # Whatever version was asked for, the reply header is v0 and, for an unknown
    # version, the body is v0: so it must parse as ApiVersionsResponse v0.
    body = decode(ApiVersionsResponse, reply[4:]) if version == 0 or version > 4 else None
    return correlation_id, body


def test_api_versions_unknown_version(clusters: tuple[Cluster, ...]) -> None:
    def scenario(cluster: Cluster) -> Any:
        correlation_id, body = api_versions_v0(cluster, 99)
        keys = {k.api_key for k in body.api_keys}
        return correlation_id, int(body.error_code), API_VERSIONS in keys, PRODUCE in keys

    seen = observe(clusters, scenario)
    # Kafka lists only its ApiVersions range in this error reply; Odradek lists every
    # range it supports (documented in docs/compatibility.md). Clients read only the
    # ApiVersions entry to pick a version to retry with, so both work.
    assert seen["kafka"] == (77, 35, True, False)
    assert seen["odradek"] == (77, 35, True, True)


def test_produce_v0_to_v2_advertised_but_refused(clusters: tuple[Cluster, ...]) -> None:
    """Both advertise Produce from v0 (librdkafka looks for it) though v0-2 are gone
    (KIP-896). Kafka closes the connection on a Produce v2; Odradek answers it with
    UNSUPPORTED_VERSION instead, on purpose (docs/compatibility.md)."""

    def scenario(cluster: Cluster) -> Any:
        _, body = api_versions_v0(cluster, 0)
        advertised = {k.api_key: k.min_version for k in body.api_keys}[PRODUCE]
        topic = unique_topic("v2")
        create_topic(cluster, topic)
        # Produce v2 body: acks, timeout, [topic, [partition, empty message set]].
        name = topic.encode()
        request = struct.pack(">hii", -1, 10000, 1) + struct.pack(">h", len(name)) + name
        request += struct.pack(">iii", 1, 0, 0)
        reply = exchange(cluster.bootstrap, frame(PRODUCE, 2, 5, request))
        if isinstance(reply, str):
            return advertised, reply
        (correlation_id,) = struct.unpack_from(">i", reply)
        return advertised, correlation_id

    seen = observe(clusters, scenario)
    assert seen["kafka"] == (0, "closed")
    assert seen["odradek"] == (0, 5)


# Each frame must close the connection on both brokers (and only that connection).
BAD_FRAMES: dict[str, bytes] = {
    "length_over_limit": struct.pack(">i", 0x7FFFFFF0) + b"\x00" * 16,
    "negative_length": struct.pack(">i", -5) + b"\x00" * 16,
    "unknown_api_key": frame(9999, 0, 1, b""),
    "truncated_metadata": frame(METADATA, 4, 2, b"\x00\x00\x00\x05\x00"),
    "header_only_garbage": struct.pack(">i", 3) + b"\x01\x02\x03",
}


@pytest.mark.parametrize("label", sorted(BAD_FRAMES))
def test_bad_frame_closes_only_that_connection(clusters: tuple[Cluster, ...], label: str) -> None:
    def scenario(cluster: Cluster) -> Any:
        result = exchange(cluster.bootstrap, BAD_FRAMES[label], expect_reply=False)
        outcome = result if isinstance(result, str) else "replied"
        healthy = api_versions_v0(cluster, 0)
        return outcome, healthy[0], int(healthy[1].error_code)

    seen = observe(clusters, scenario)
    assert seen["kafka"] == ("closed", 77, 0)
    assert_same(seen)


def metadata(cluster: Cluster, topics: list[str], auto_create: bool) -> dict[str, int]:
    request = MetadataRequest(
        topics=tuple(MetadataRequestTopic(name=TopicName(t)) for t in topics),
        allow_auto_topic_creation=auto_create,
    )
    reply = exchange(cluster.bootstrap, frame(METADATA, 4, 5, encode(request)))
    assert isinstance(reply, bytes), reply
    response = decode(MetadataResponse, reply[4:])
    names = {t: i for i, t in enumerate(topics)}
    return {f"t{names[t.name]}": int(t.error_code) for t in response.topics}


def test_metadata_topic_errors(clusters: tuple[Cluster, ...]) -> None:
    def scenario(cluster: Cluster) -> Any:
        absent = unique_topic("absent")
        return metadata(cluster, [absent, "bad name", "a" * 300, "..", "ok/no"], False)

    seen = observe(clusters, scenario)
    assert seen["kafka"]["t0"] == 3  # UNKNOWN_TOPIC_OR_PARTITION
    assert seen["kafka"]["t1"] == 17  # INVALID_TOPIC_EXCEPTION
    assert_same(seen)


def produce_raw(
    cluster: Cluster, topic: str, partition: int, records: bytes, acks: int = -1, version: int = 7
) -> Any:
    """(error, base offset) of one partition's records, sent as Produce `version` (v3–8
    share the v7 body)."""
    request = ProduceRequest(
        transactional_id=None,
        acks=i16(acks),
        timeout=i32Timedelta.parse(datetime.timedelta(seconds=10)),
        topic_data=(
            TopicProduceData(
                name=TopicName(topic),
                partition_data=(
                    PartitionProduceData(index=i32(partition), records=Records(records)),
                ),
            ),
        ),
    )
    reply = exchange(cluster.bootstrap, frame(PRODUCE, version, 9, encode(request)))
    if isinstance(reply, str):
        return reply
    response = decode(ProduceResponse, reply[4:])
    (part,) = response.responses[0].partition_responses
    return int(part.error_code), int(part.base_offset)


def test_produce_bad_records(clusters: tuple[Cluster, ...]) -> None:
    def scenario(cluster: Cluster) -> dict[str, Any]:
        topic = unique_topic("badrec")
        create_topic(cluster, topic)
        seen: dict[str, Any] = {}
        seen["good"] = produce_raw(cluster, topic, 0, bytes(record_batch([b"a", b"b"])))
        corrupt = record_batch([b"c"])
        corrupt[-1] ^= 0xFF  # last value byte: the CRC no longer matches
        seen["bad_crc"] = produce_raw(cluster, topic, 0, bytes(corrupt))
        seen["magic_1"] = produce_raw(cluster, topic, 0, bytes(record_batch([b"d"], magic=1)))
        short = record_batch([b"e"])
        seen["truncated_batch"] = produce_raw(cluster, topic, 0, bytes(short[:-3]))
        seen["unknown_partition"] = produce_raw(cluster, topic, 7, bytes(record_batch([b"f"])))
        seen["unknown_topic"] = produce_raw(
            cluster, f"absent-{uuid.uuid4().hex[:8]}", 0, bytes(record_batch([b"g"]))
        )
        seen["bad_acks"] = produce_raw(cluster, topic, 0, bytes(record_batch([b"h"])), acks=5)
        seen["after"] = produce_raw(cluster, topic, 0, bytes(record_batch([b"i"])))
        return seen

    seen = observe(clusters, scenario)
    kafka = seen["kafka"]
    assert kafka["good"] == (0, 0)
    assert kafka["bad_crc"][0] == 2  # CORRUPT_MESSAGE
    assert kafka["unknown_topic"][0] == 3
    assert kafka["bad_acks"][0] == 21  # INVALID_REQUIRED_ACKS
    assert kafka["after"] == (0, 2)
    assert_same(seen)


def test_message_too_large(clusters: tuple[Cluster, ...]) -> None:
    def scenario(cluster: Cluster) -> Any:
        topic = unique_topic("large")
        create_topic(cluster, topic, config={"max.message.bytes": "100000"})
        return produce(
            cluster,
            topic,
            [{"value": b"x" * 150_000}, {"value": b"small"}],
            **{"message.max.bytes": 1_000_000, "linger.ms": 0, "batch.num.messages": 1},
        )

    seen = observe(clusters, scenario)
    assert sorted(r[2] for r in seen["kafka"]) == ["MSG_SIZE_TOO_LARGE", "OK"]
    assert_same(seen)


def fetch_v11(cluster: Cluster, topic: str, offset: int) -> Any:
    request = FetchRequest(
        max_wait=i32Timedelta.parse(datetime.timedelta(milliseconds=100)),
        min_bytes=i32(1),
        topics=(
            FetchTopic(
                topic=TopicName(topic),
                partitions=(
                    FetchPartition(
                        partition=i32(0), fetch_offset=i64(offset), partition_max_bytes=i32(65536)
                    ),
                ),
            ),
        ),
        forgotten_topics_data=(),
    )
    reply = exchange(cluster.bootstrap, frame(FETCH, 11, 11, encode(request)))
    assert isinstance(reply, bytes), reply
    response = decode(FetchResponse, reply[4:])
    (part,) = response.responses[0].partitions
    return (
        int(part.error_code),
        int(part.high_watermark),
        int(part.last_stable_offset),
        int(part.log_start_offset),
        bytes(part.records or b""),
    )


def test_fetch_out_of_range_partition_fields(clusters: tuple[Cluster, ...]) -> None:
    """What an errored fetch partition carries matters: librdkafka treats a
    log_start_offset >= 0 there as the cached start to reset to."""

    def scenario(cluster: Cluster) -> Any:
        topic = unique_topic("oorfetch")
        create_topic(cluster, topic)
        produce(cluster, topic, [{"value": b"a", "timestamp": 1}, {"value": b"b", "timestamp": 2}])
        at_end = fetch_v11(cluster, topic, 2)
        return fetch_v11(cluster, topic, 5), at_end[:4], fetch_v11(cluster, topic, -1)[:4]

    seen = observe(clusters, scenario)
    assert seen["kafka"][0] == (1, -1, -1, -1, b"")
    assert seen["kafka"][1] == (0, 2, 2, 0)
    assert_same(seen)
