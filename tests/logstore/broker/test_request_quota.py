"""The request_percentage wait written into every kind of answer: hand-encoded Produce,
Fetch, Metadata, ListOffsets, DescribeLogDirs and DescribeConfigs frames at every version
with the field, and kio answers; read back with kio, nothing else changed."""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from typing import Any

import pytest

from logstore.broker.api import RawReply
from logstore.broker.build import make
from logstore.broker.request_quota import given_wait, with_wait
from logstore.protocol import codec
from logstore.protocol.admin_replies import (
    describe_configs_frame,
    describe_log_dirs_frame,
    list_offsets_frame,
)
from logstore.protocol.api_keys import ApiKey
from logstore.protocol.fetch_response import (
    FetchPartitionOut,
    FetchTopicOut,
    encode_fetch_response,
)
from logstore.protocol.metadata_reply import metadata_frame
from logstore.protocol.produce_response import PartitionResult, encode_produce_response
from tests.logstore.protocol.test_admin_replies import CONFIG_RESULTS, OFFSET_TOPICS
from tests.logstore.protocol.test_fetch_response import Blob


def _decoded(api_key: int, version: int, frame: bytes) -> Any:
    correlation_id, response = codec.decode_response(api_key, version, frame[4:])
    assert correlation_id == 7
    return response


def _frame(reply: bytes | RawReply) -> bytes:
    if isinstance(reply, bytes):
        return reply
    return b"".join(p if isinstance(p, bytes) else p.data for p in reply.parts)


def _check(api_key: int, version: int, reply: bytes | RawReply) -> None:
    before = _decoded(api_key, version, _frame(reply))
    assert given_wait(api_key, version, reply) == 0
    waited = with_wait(api_key, version, reply, 12_345)
    assert given_wait(api_key, version, waited) == 12_345
    after = _decoded(api_key, version, _frame(waited))
    # The wait, and nothing else, changed.
    assert after.throttle_time == datetime.timedelta(milliseconds=12_345)
    assert dataclasses.replace(after, throttle_time=before.throttle_time) == before


@pytest.mark.parametrize("version", range(3, 12))
def test_produce_frames(version: int) -> None:
    reply = encode_produce_response(
        version,
        7,
        [("orders", [PartitionResult(0, 0, 42, -1, 0)]), ("é", [])],
    )
    _check(ApiKey.PRODUCE, version, reply)


@pytest.mark.parametrize("version", range(4, 13))
def test_fetch_frames(version: int) -> None:
    topics = [FetchTopicOut("orders", [FetchPartitionOut(0, 0, 5, 5, 0, (), [Blob(b"x" * 12)])])]
    parts, total = encode_fetch_response(version, 7, topics, session_id=3 if version >= 7 else 0)
    _check(ApiKey.FETCH, version, RawReply(parts, total))


@pytest.mark.parametrize("version", range(3, 13))
def test_metadata_frames(version: int) -> None:
    reply = metadata_frame(
        version,
        7,
        node_id=1,
        host="127.0.0.1",
        port=9092,
        cluster_id="c",
        topics=[(0, "orders", uuid.uuid4(), False, [0, 0])],
    )
    _check(ApiKey.METADATA, version, reply)


@pytest.mark.parametrize("version", range(2, 8))
def test_list_offsets_frames(version: int) -> None:
    _check(ApiKey.LIST_OFFSETS, version, list_offsets_frame(version, 7, OFFSET_TOPICS))


@pytest.mark.parametrize("version", range(1, 5))
def test_describe_log_dirs_frames(version: int) -> None:
    reply = describe_log_dirs_frame(version, 7, "/data", [("orders", [(0, 10)])], 100, 50)
    _check(ApiKey.DESCRIBE_LOG_DIRS, version, reply)


@pytest.mark.parametrize("version", range(1, 5))
def test_describe_configs_frames(version: int) -> None:
    _check(ApiKey.DESCRIBE_CONFIGS, version, describe_configs_frame(version, 7, CONFIG_RESULTS))


@pytest.mark.parametrize("version", range(0, 3))
def test_metadata_before_v3_has_no_wait_to_write(version: int) -> None:
    reply = metadata_frame(version, 7, node_id=1, host="h", port=1, cluster_id="c", topics=[])
    assert given_wait(ApiKey.METADATA, version, reply) is None


def test_kio_answers() -> None:
    cls = codec.response_class(ApiKey.API_VERSIONS, 3)
    assert cls is not None
    answer = make(cls, error_code=0, api_keys=(), throttle_time=40)
    assert given_wait(ApiKey.API_VERSIONS, 3, answer) == 40
    assert given_wait(ApiKey.API_VERSIONS, 3, with_wait(ApiKey.API_VERSIONS, 3, answer, 900)) == 900
    # ApiVersions v0 has no throttle field.
    old = make(codec.response_class(ApiKey.API_VERSIONS, 0), error_code=0, api_keys=())
    assert given_wait(ApiKey.API_VERSIONS, 0, old) is None
