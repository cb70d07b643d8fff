"""The hand-written Produce response must be byte-for-byte what kio encodes."""

from __future__ import annotations

import pytest

from logstore.broker.build import make
from logstore.protocol import codec
from logstore.protocol.produce_response import PartitionResult, encode_produce_response

TOPICS = [
    ("orders", [PartitionResult(0, 0, 42, -1, 0), PartitionResult(3, 10, -1, -1, -1, "too big")]),
    ("é-events", [PartitionResult(1, 0, 7, 1_700_000_000_123, 5)]),
    ("empty", []),
    (
        "compacted",
        [
            PartitionResult(
                0,
                87,
                -1,
                -1,
                -1,
                "2 record errors",
                ((1, "no key"), (3, "ümlaut key")),
            ),
            PartitionResult(1, 32, -1, -1, -1, "invalid timestamp", ((0, None),)),
        ],
    ),
]


def _kio(version: int, correlation_id: int) -> bytes:
    schema = codec.response_module(0, version)
    body = make(
        codec.response_class(0, version),
        throttle_time=0,
        node_endpoints=(),
        responses=tuple(
            make(
                schema.TopicProduceResponse,
                name=name,
                partition_responses=tuple(
                    make(
                        schema.PartitionProduceResponse,
                        index=p.partition,
                        error_code=p.error_code,
                        base_offset=p.base_offset,
                        log_append_time=p.log_append_time,
                        log_start_offset=p.log_start_offset,
                        record_errors=tuple(
                            make(
                                schema.BatchIndexAndErrorMessage,
                                batch_index=index,
                                batch_index_error_message=message,
                            )
                            for index, message in p.record_errors
                        )
                        if version >= 8
                        else (),
                        error_message=p.error_message,
                    )
                    for p in parts
                ),
            )
            for name, parts in TOPICS
        ),
    )
    return codec.encode_response(0, version, correlation_id, body)


@pytest.mark.parametrize("version", range(3, 12))
def test_matches_kio(version: int) -> None:
    assert encode_produce_response(version, 99, TOPICS) == _kio(version, 99)


def test_decodes_with_kio() -> None:
    frame = encode_produce_response(9, 5, TOPICS)
    correlation_id, response = codec.decode_response(0, 9, frame[4:])
    assert correlation_id == 5
    assert response.responses[0].partition_responses[1].error_message == "too big"
    refused = response.responses[3].partition_responses[0]
    assert [(e.batch_index, e.batch_index_error_message) for e in refused.record_errors] == [
        (1, "no key"),
        (3, "ümlaut key"),
    ]


def test_versions_outside_3_to_11_are_refused() -> None:
    with pytest.raises(ValueError):
        encode_produce_response(12, 1, [])
