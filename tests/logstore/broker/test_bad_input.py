"""Bad input gets Kafka's error code, or closes only the offending connection."""

from __future__ import annotations

import struct
import time
from typing import Any

import pytest

from logstore.broker.build import make
from logstore.records import build_batch
from tests.broker_fixture import BrokerProcess
from tests.clients.messages import unique_topic
from tests.logstore.broker.wire import Wire, schema

PRODUCE, FETCH, METADATA, API_VERSIONS, CREATE_TOPICS = 0, 1, 3, 18, 19


def _now() -> int:
    return int(time.time() * 1000)


def _create(w: Wire, topic: str, **configs: str) -> int:
    s = schema(CREATE_TOPICS, 7)
    response = w.request(
        CREATE_TOPICS,
        7,
        topics=(
            make(
                s.CreatableTopic,
                name=topic,
                num_partitions=1,
                replication_factor=1,
                assignments=(),
                configs=tuple(
                    make(s.CreatableTopicConfig, name=k, value=v) for k, v in configs.items()
                ),
            ),
        ),
        timeout=5000,
        validate_only=False,
    )
    return int(response.topics[0].error_code)


def _produce(w: Wire, topic: str, records: bytes, acks: int = -1, version: int = 9) -> int:
    s = schema(PRODUCE, version)
    response = w.request(
        PRODUCE,
        version,
        transactional_id=None,
        acks=acks,
        timeout=5000,
        topic_data=(
            make(
                s.TopicProduceData,
                name=topic,
                partition_data=(make(s.PartitionProduceData, index=0, records=records),),
            ),
        ),
    )
    return int(response.responses[0].partition_responses[0].error_code)


def _fetch(w: Wire, topic: str, offset: int, *, max_wait: int = 0, min_bytes: int = 0) -> Any:
    _send_fetch(w, topic, offset, max_wait=max_wait, min_bytes=min_bytes)
    return w.read_response(FETCH, 11).responses[0].partitions[0]


def _send_fetch(w: Wire, topic: str, offset: int, *, max_wait: int, min_bytes: int) -> None:
    s = schema(FETCH, 11)
    w.send_request(
        FETCH,
        11,
        max_wait=max_wait,
        min_bytes=min_bytes,
        max_bytes=1 << 20,
        topics=(
            make(
                s.FetchTopic,
                topic=topic,
                partitions=(
                    make(
                        s.FetchPartition,
                        partition=0,
                        fetch_offset=offset,
                        partition_max_bytes=1 << 20,
                    ),
                ),
            ),
        ),
        forgotten_topics_data=(),
    )


def _still_serving(b: BrokerProcess) -> None:
    with Wire(b.bootstrap) as w:
        assert w.request(API_VERSIONS, 0).error_code == 0


def test_unknown_topic_and_invalid_names(shared_broker: BrokerProcess) -> None:
    with Wire(shared_broker.bootstrap) as w:
        missing = unique_topic("missing")
        assert _fetch(w, missing, 0).error_code == 3
        meta = w.request(
            METADATA,
            12,
            topics=(make(schema(METADATA, 12).MetadataRequestTopic, name=missing, topic_id=None),),
            allow_auto_topic_creation=False,
            include_topic_authorized_operations=False,
        )
        assert meta.topics[0].error_code == 3
        assert _create(w, "bad name!") == 17
        assert _create(w, "x" * 250) == 17
        assert _produce(w, "no/slashes", build_batch([(b"k", b"v")], timestamp=_now())) == 3
        meta = w.request(
            METADATA,
            12,
            topics=(make(schema(METADATA, 12).MetadataRequestTopic, name="no/slashes",
                         topic_id=None),),
            allow_auto_topic_creation=False,
            include_topic_authorized_operations=False,
        )  # fmt: skip
        assert meta.topics[0].error_code == 17


def test_oversized_corrupt_and_invalid_batches(shared_broker: BrokerProcess) -> None:
    topic = unique_topic("bad")
    with Wire(shared_broker.bootstrap) as w:
        assert _create(w, topic, **{"max.message.bytes": "2000"}) == 0
        big = build_batch([(b"k", b"v" * 5000)], timestamp=_now())
        assert _produce(w, topic, big) == 10
        good = bytearray(build_batch([(b"k", b"v")], timestamp=_now()))
        corrupt = bytes(good[:-1]) + bytes([good[-1] ^ 0xFF])
        assert _produce(w, topic, corrupt) == 2
        # A torn batch is INVALID_RECORD, as Apache Kafka 4 answers (differential suite).
        assert _produce(w, topic, bytes(good[:30])) == 87
        assert _produce(w, topic, bytes(good), acks=5) == 21
        assert _produce(w, topic, bytes(good)) == 0
        part = _fetch(w, topic, 0)
        assert (part.error_code, part.high_watermark) == (0, 1)
        assert bytes(part.records)[12:] == bytes(good)[12:]  # as sent, base offset aside
        beyond = _fetch(w, topic, 5)  # offset out of range: no offsets, as Kafka answers
        assert (beyond.error_code, beyond.high_watermark, beyond.log_start_offset) == (1, -1, -1)


def test_garbage_frames_close_only_their_connection(shared_broker: BrokerProcess) -> None:
    with Wire(shared_broker.bootstrap) as bystander:
        assert (
            bystander.request(
                API_VERSIONS, 3, client_software_name="t", client_software_version="1"
            ).error_code
            == 0
        )
        with Wire(shared_broker.bootstrap) as w:
            body = struct.pack(">hhi", METADATA, 12, 1) + b"\xff" * 40
            w.send_raw(struct.pack(">i", len(body)) + body)
            assert w.closed_by_peer()
        with Wire(shared_broker.bootstrap) as w:
            w.send_raw(struct.pack(">i", 3) + b"abc")  # shorter than any header
            assert w.closed_by_peer()
        with Wire(shared_broker.bootstrap) as w:  # a version we never advertised
            body = struct.pack(">hhih", METADATA, 99, 1, -1)
            w.send_raw(struct.pack(">i", len(body)) + body)
            assert w.closed_by_peer()
        assert bystander.request(API_VERSIONS, 0).error_code == 0


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize("length", [2**31 - 1, 100 * 1024 * 1024 + 1, -5])
def test_huge_or_negative_length_prefix_closes_without_allocating(
    shared_broker: BrokerProcess, length: int
) -> None:
    before = _rss_kib(shared_broker.pid)
    with Wire(shared_broker.bootstrap) as w:
        w.send_raw(struct.pack(">i", length) + b"\x00" * 16)
        assert w.closed_by_peer()
    assert _rss_kib(shared_broker.pid) - before < 50 * 1024
    _still_serving(shared_broker)


def test_unknown_api_versions_version_answers_v0_with_error_35(
    shared_broker: BrokerProcess,
) -> None:
    with Wire(shared_broker.bootstrap) as w:
        body = struct.pack(">hhih", API_VERSIONS, 77, 5, -1) + b"\x00"
        w.send_raw(struct.pack(">i", len(body)) + body)
        payload = w.read_frame()
    correlation_id, error_code = struct.unpack_from(">ih", payload)
    assert (correlation_id, error_code) == (5, 35)
    (count,) = struct.unpack_from(">i", payload, 6)
    keys = {struct.unpack_from(">hhh", payload, 10 + 6 * i)[0] for i in range(count)}
    assert {0, 1, 2, 3, 18} <= keys
    assert 71 not in keys  # GetTelemetrySubscriptions is never advertised


def test_produce_v2_is_refused_with_unsupported_version(shared_broker: BrokerProcess) -> None:
    topic = b"legacy"
    body = struct.pack(">hhih", PRODUCE, 2, 9, -1) + struct.pack(">hii", 1, 1000, 1)
    body += struct.pack(">h", len(topic)) + topic + struct.pack(">iii", 1, 0, 0)
    with Wire(shared_broker.bootstrap) as w:
        w.send_raw(struct.pack(">i", len(body)) + body)
        payload = w.read_frame()
    assert struct.unpack_from(">ii", payload) == (9, 1)
    partition, error = struct.unpack_from(">ih", payload, 8 + 2 + len(topic) + 4)
    assert (partition, error) == (0, 35)
