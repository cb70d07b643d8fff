"""The hand-written Fetch envelope must be byte-for-byte what kio encodes."""

from __future__ import annotations

import pytest

from logstore.broker.build import make
from logstore.protocol import codec
from logstore.protocol.fetch_response import (
    FetchPartitionOut,
    FetchTopicOut,
    encode_fetch_response,
)


class Blob:
    def __init__(self, data: bytes) -> None:
        self.data = data

    @property
    def size(self) -> int:
        return len(self.data)


def _join(parts: list) -> bytes:
    return b"".join(p if isinstance(p, bytes) else p.data for p in parts)


def _kio_frame(
    version: int,
    correlation_id: int,
    topics: list[FetchTopicOut],
    error_code: int = 0,
    session_id: int = 0,
) -> bytes:
    schema = codec.response_module(1, version)
    body = make(
        codec.response_class(1, version),
        throttle_time=0,
        error_code=error_code,
        session_id=session_id,
        responses=tuple(
            make(
                schema.FetchableTopicResponse,
                topic=t.topic,
                partitions=tuple(
                    make(
                        schema.PartitionData,
                        partition_index=p.partition,
                        error_code=p.error_code,
                        high_watermark=p.high_watermark,
                        last_stable_offset=p.last_stable_offset,
                        log_start_offset=p.log_start_offset,
                        aborted_transactions=None
                        if p.aborted is None
                        else tuple(
                            make(schema.AbortedTransaction, producer_id=a, first_offset=b)
                            for a, b in p.aborted
                        ),
                        preferred_read_replica=-1,
                        records=b"".join(r.data for r in p.records),
                    )
                    for p in t.partitions
                ),
            )
            for t in topics
        ),
    )
    return codec.encode_response(1, version, correlation_id, body)


@pytest.mark.parametrize("version", range(4, 13))
def test_envelope_matches_kio(version: int) -> None:
    topics = [
        FetchTopicOut(
            "orders",
            [
                FetchPartitionOut(0, 0, 10, 10, 0, None, (Blob(b"x" * 300), Blob(b"yz"))),
                FetchPartitionOut(1, 1, 5, 5, 2, (), ()),
                FetchPartitionOut(2, 0, 7, 7, 0, ((42, 3), (43, 5)), (Blob(b"abc"),)),
            ],
        ),
        FetchTopicOut("empty", []),
        FetchTopicOut("é-unicode", [FetchPartitionOut(0, 3)]),
    ]
    parts, total = encode_fetch_response(version, 77, topics)
    wire = _join(parts)
    assert len(wire) == total
    assert wire == _kio_frame(version, 77, topics)


@pytest.mark.parametrize("version", range(7, 13))
@pytest.mark.parametrize(("error_code", "session_id"), [(0, 123456789), (71, 0), (70, 0)])
def test_session_fields_match_kio(version: int, error_code: int, session_id: int) -> None:
    topics = [FetchTopicOut("t", [FetchPartitionOut(0, 0, 3, 3, 0)])] if not error_code else []
    parts, total = encode_fetch_response(
        version, 9, topics, error_code=error_code, session_id=session_id
    )
    wire = _join(parts)
    assert len(wire) == total
    assert wire == _kio_frame(version, 9, topics, error_code, session_id)


def test_record_parts_are_passed_through_not_copied() -> None:
    blob = Blob(b"r" * 1000)
    parts, _ = encode_fetch_response(
        12, 1, [FetchTopicOut("t", [FetchPartitionOut(0, records=(blob,))])]
    )
    assert any(p is blob for p in parts)


def test_empty_partition_has_zero_length_records_not_null() -> None:
    parts, _ = encode_fetch_response(11, 1, [FetchTopicOut("t", [FetchPartitionOut(0)])])
    wire = _join(parts)
    _, response = codec.decode_response(1, 11, wire[4:])
    assert response.responses[0].partitions[0].records == b""
    assert response.responses[0].partitions[0].preferred_read_replica == -1


def test_versions_outside_4_to_12_are_refused() -> None:
    with pytest.raises(ValueError):
        encode_fetch_response(13, 1, [])
