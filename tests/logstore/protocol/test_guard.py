"""The structural guard: hostile lengths are refused before kio reads them; real frames pass.

Every test here runs kio in this very process, so a guard that let a length bomb through
would abort pytest itself rather than fail politely.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kio.static.primitive import Records

from logstore.broker.api import supported_ranges
from logstore.broker.build import make
from logstore.protocol import codec, guard
from logstore.protocol.errors import MalformedFrameError
from tests.logstore.broker.wire import schema

# Metadata v12 whose topics compact array claims 2^32-2 elements in a 21-byte frame: kio
# alone reserves 34 GB for it and the process aborts.
METADATA_BOMB = bytes.fromhex("000000110003000c0000000700017800ffffffff0f")

st.register_type_strategy(Records, st.binary(max_size=64).map(Records))


def _versions() -> list[tuple[int, int]]:
    import logstore.broker.handlers  # noqa: F401  (registers every handler)

    return [
        (k, v)
        for k, lo, hi in supported_ranges()
        for v in range(lo, hi + 1)
        if codec.request_class(k, v) is not None
    ]


def _body(api_key: int, version: int, request: object) -> bytes:
    return codec.encode_request(codec.RequestHeader(api_key, version, 7, "c"), request)[4:]


def _classes(api_key: int, version: int) -> tuple[type, type]:
    request_cls = codec.request_class(api_key, version)
    assert request_cls is not None
    return request_cls.__header_schema__, request_cls  # type: ignore[attr-defined]


def test_the_21_byte_metadata_bomb_is_refused_before_kio() -> None:
    assert len(METADATA_BOMB) == 21
    with pytest.raises(guard.HostileFrameError, match="4294967294 elements"):
        codec.decode_request(METADATA_BOMB[4:])


@pytest.mark.parametrize(("api_key", "version"), _versions())
def test_every_kio_encoded_request_passes_and_ends_where_kio_ends(
    api_key: int, version: int
) -> None:
    header_cls, request_cls = _classes(api_key, version)

    @settings(max_examples=4, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.from_type(request_cls))
    def check(request: object) -> None:
        body = _body(api_key, version, request)
        end = guard.check_request(body, header_cls, request_cls)
        assert end == len(body)
        with pytest.raises(guard.HostileFrameError):
            guard.check_request(body[: end - 1], header_cls, request_cls)

    check()


def _metadata(version: int, names: tuple[str, ...] | None) -> bytes:
    s = schema(3, version)
    topics = (
        None
        if names is None
        else tuple(make(s.MetadataRequestTopic, name=n, topic_id=None) for n in names)
    )
    request = make(
        codec.request_class(3, version),
        topics=topics,
        allow_auto_topic_creation=False,
        include_cluster_authorized_operations=False,
        include_topic_authorized_operations=False,
    )
    return _body(3, version, request)


@pytest.mark.parametrize("version", [4, 12])
def test_every_length_bomb_in_a_real_frame_is_refused(version: int) -> None:
    """Overwrite each 4-byte window with 0x7fffffff (legacy) or a 5-byte huge varint."""
    body = _metadata(version, ("alpha", "beta"))
    header_cls, request_cls = _classes(3, version)
    bombs = [b"\x7f\xff\xff\xff", b"\xff\xff\xff\xff\x0f", b"\xfe\xff\xff\xff\x0f", b"\x7f\xff"]
    for bomb in bombs:
        for at in range(8, len(body)):
            mutated = body[:at] + bomb + body[at + len(bomb) :]
            try:
                end = guard.check_request(mutated, header_cls, request_cls)
            except guard.HostileFrameError:
                continue
            assert end <= len(mutated)
            try:
                codec.decode_request(mutated)  # the guard let it by: kio must cope
            except MalformedFrameError:
                pass


def test_every_truncation_of_a_real_frame_is_refused() -> None:
    for version in (0, 4, 9, 12):
        body = _metadata(version, ("alpha", "beta"))
        for cut in range(8, len(body)):
            with pytest.raises(MalformedFrameError):
                codec.decode_request(body[:cut])


def test_null_where_the_schema_forbids_it_is_refused() -> None:
    # JoinGroup v5 with a null protocols array (legacy -1).
    s = schema(11, 5)
    request = make(
        codec.request_class(11, 5),
        group_id="g",
        session_timeout=10_000,
        rebalance_timeout=10_000,
        member_id="",
        group_instance_id=None,
        protocol_type="consumer",
        protocols=(make(s.JoinGroupRequestProtocol, name="range", metadata=b""),),
    )
    body = _body(11, 5, request)
    one_protocol = struct.pack(">i", 1) + struct.pack(">h", 5) + b"range" + struct.pack(">i", 0)
    assert body.endswith(one_protocol)
    nulled = body[: -len(one_protocol)] + struct.pack(">i", -1)
    with pytest.raises(guard.HostileFrameError, match="null array where not nullable"):
        codec.decode_request(nulled)
    # Metadata v1+ topics may be null ("all topics"): accepted.
    _, decoded = codec.decode_request(_metadata(12, None))
    assert decoded.topics is None


def test_varints_longer_than_five_bytes_or_wider_than_32_bits_are_refused() -> None:
    assert guard.read_uvarint(b"\xff\xff\xff\xff\x0f", 0, 5) == (2**32 - 1, 5)
    with pytest.raises(guard.HostileFrameError, match="above 32 bits"):
        guard.read_uvarint(b"\xff\xff\xff\xff\x1f", 0, 5)
    with pytest.raises(guard.HostileFrameError, match="longer than 5"):
        guard.read_uvarint(b"\x80\x80\x80\x80\x80\x01", 0, 6)
    with pytest.raises(guard.HostileFrameError, match="truncated"):
        guard.read_uvarint(b"\x80\x80", 0, 2)


def test_tagged_fields_must_be_known_and_fit() -> None:
    body = _metadata(12, ("alpha",))
    header_cls, request_cls = _classes(3, 12)
    assert body.endswith(b"\x00")  # the request's empty tagged-field section
    unknown = body[:-1] + b"\x01\x63\x01\x00"  # one tag (99) of one byte
    with pytest.raises(guard.HostileFrameError, match="unknown tagged field 99"):
        guard.check_request(unknown, header_cls, request_cls)
    overlong = body[:-1] + b"\x01\x63\xff\xff\x03"
    with pytest.raises(guard.HostileFrameError, match="exceeds the frame"):
        guard.check_request(overlong, header_cls, request_cls)
    many = body[:-1] + b"\xff\xff\xff\xff\x0f"
    with pytest.raises(guard.HostileFrameError, match="cannot fit"):
        guard.check_request(many, header_cls, request_cls)


def _describe_groups_v5(n: int) -> bytes:
    """DescribeGroups v5 naming `n` empty group ids: one byte per array element."""
    header = struct.pack(">hhih", 15, 5, 1, -1) + b"\x00"
    count = n + 1
    varint = bytearray()
    while count >= 0x80:
        varint.append((count & 0x7F) | 0x80)
        count >>= 7
    varint.append(count)
    return header + bytes(varint) + b"\x01" * n + b"\x00\x00"


def test_a_frame_holds_at_most_a_million_array_elements() -> None:
    header_cls, request_cls = _classes(15, 5)
    at_limit = _describe_groups_v5(guard.MAX_ELEMENTS)
    assert guard.check_request(at_limit, header_cls, request_cls) == len(at_limit)
    with pytest.raises(guard.HostileFrameError, match="more than 1000000 array elements"):
        codec.decode_request(_describe_groups_v5(guard.MAX_ELEMENTS + 1))
