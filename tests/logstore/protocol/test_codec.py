"""Frames in, typed requests out; typed responses in, bytes out (no sockets)."""

from __future__ import annotations

import struct

import pytest
from kio.schema.api_versions.v3.request import ApiVersionsRequest
from kio.schema.metadata.v12.request import MetadataRequest, MetadataRequestTopic

from logstore.broker.build import make
from logstore.protocol import codec
from logstore.protocol.errors import (
    FrameTooLargeError,
    MalformedFrameError,
    UnsupportedVersionError,
)
from logstore.protocol.framing import frame, parse_length
from logstore.protocol.legacy_produce import refuse_legacy_produce

MAX = 100 * 1024 * 1024


def test_request_round_trip_flexible_header() -> None:
    request = MetadataRequest(
        topics=(MetadataRequestTopic(topic_id=None, name="orders"),),
        allow_auto_topic_creation=False,
        include_topic_authorized_operations=False,
    )
    wire = codec.encode_request(codec.RequestHeader(3, 12, 99, "me"), request)
    header, decoded = codec.decode_request(wire[4:])
    assert header == codec.RequestHeader(3, 12, 99, "me")
    assert decoded == request


@pytest.mark.parametrize(
    ("api_key", "version", "flexible"),
    [(0, 8, False), (0, 9, True), (1, 11, False), (1, 12, True), (3, 8, False), (3, 9, True)],
)
def test_header_versions_follow_flexible_versions(
    api_key: int, version: int, flexible: bool
) -> None:
    assert codec.request_header_is_flexible(api_key, version) is flexible
    assert codec.response_header_is_flexible(api_key, version) is flexible


def test_api_versions_response_header_is_always_v0() -> None:
    assert codec.request_header_is_flexible(18, 3) is True
    assert codec.response_header_is_flexible(18, 3) is False
    assert codec.encode_response_header(18, 4, 5) == struct.pack(">i", 5)


def test_unknown_version_is_reported_with_its_correlation_id() -> None:
    body = struct.pack(">hhih", 0, 2, 1234, -1) + b"\x00" * 10
    with pytest.raises(UnsupportedVersionError) as err:
        codec.decode_request(body)
    assert err.value.correlation_id == 1234


def test_garbage_body_is_malformed() -> None:
    body = struct.pack(">hhi", 3, 12, 1) + b"\xff" * 7
    with pytest.raises(MalformedFrameError):
        codec.decode_request(body)
    with pytest.raises(MalformedFrameError):
        codec.decode_request(b"\x00\x01")


@pytest.mark.parametrize("length", [-1, 0, 7, MAX + 1, 2**31 - 1])
def test_length_prefix_outside_limits_is_refused(length: int) -> None:
    with pytest.raises(FrameTooLargeError):
        parse_length(struct.pack(">i", length), MAX)


def test_length_prefix_within_limits() -> None:
    assert parse_length(struct.pack(">i", 8), MAX) == 8
    assert parse_length(frame(b"x" * 20)[:4], MAX) == 20


def test_api_versions_request_v3_decodes_client_software() -> None:
    request = ApiVersionsRequest(client_software_name="kcat", client_software_version="1.7")
    header, decoded = codec.decode_request(
        codec.encode_request(codec.RequestHeader(18, 3, 1, None), request)[4:]
    )
    assert header.client_id is None
    assert decoded.client_software_name == "kcat"


def test_legacy_produce_is_refused_per_partition() -> None:
    topic = b"t1"
    body = struct.pack(">hhih", 0, 2, 42, 1) + b"c"
    body += struct.pack(">hii", 1, 1000, 1)
    body += struct.pack(">h", len(topic)) + topic + struct.pack(">i", 2)
    body += struct.pack(">ii", 0, 3) + b"abc" + struct.pack(">ii", 5, 0)
    out = refuse_legacy_produce(body, 35)
    (length,) = struct.unpack_from(">i", out)
    assert length == len(out) - 4
    expected = struct.pack(">ii", 42, 1) + struct.pack(">h", 2) + topic + struct.pack(">i", 2)
    expected += struct.pack(">ihqq", 0, 35, -1, -1) + struct.pack(">ihqq", 5, 35, -1, -1)
    expected += struct.pack(">i", 0)
    assert out[4:] == expected


def test_truncated_legacy_produce_is_malformed() -> None:
    with pytest.raises(MalformedFrameError):
        refuse_legacy_produce(struct.pack(">hhih", 0, 1, 1, -1) + b"\x00", 35)


def test_make_drops_fields_a_version_lacks_and_converts_types() -> None:
    cls = codec.response_class(0, 3)
    assert cls is not None
    response = make(cls, responses=(), throttle_time=5, node_endpoints=())
    assert codec.encode_body(response) == struct.pack(">ii", 0, 5)
