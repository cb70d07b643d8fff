"""The hand-written Metadata answer must be byte-for-byte what kio encodes, for every
version the broker serves (0–12) and every shape the handler produces."""

from __future__ import annotations

import uuid

import pytest

from logstore.broker.build import make
from logstore.protocol import codec
from logstore.protocol.metadata_reply import MetadataTopic, metadata_frame

METADATA = 3
NODE, HOST, PORT, CLUSTER = 7, "broker.example", 19092, "odradek-local"
ORDERS = uuid.UUID("12345678-1234-5678-1234-567812345678")

TOPICS: list[MetadataTopic] = [
    (0, "orders", ORDERS, False, [0, 0, 56]),  # the third partition failed recovery
    (0, "__consumer_offsets", uuid.uuid4(), True, [0]),
    (0, "é-ünïcode." + "x" * 200, uuid.uuid4(), False, []),
    (3, "missing", uuid.UUID(int=0), False, []),
]


def _kio(version: int, topics: list[MetadataTopic]) -> bytes:
    schema = codec.response_module(METADATA, version)
    cls = codec.response_class(METADATA, version)
    fields = dict(
        throttle_time=0,
        brokers=(
            make(schema.MetadataResponseBroker, node_id=NODE, host=HOST, port=PORT, rack=None),
        ),
        cluster_id=CLUSTER,
        controller_id=NODE,
        topics=tuple(
            make(
                schema.MetadataResponseTopic,
                error_code=error,
                name=name,
                topic_id=topic_id,
                is_internal=internal,
                topic_authorized_operations=-(2**31),
                partitions=tuple(
                    make(
                        schema.MetadataResponsePartition,
                        error_code=e,
                        partition_index=i,
                        leader_id=NODE,
                        leader_epoch=0,
                        replica_nodes=(NODE,),
                        isr_nodes=(NODE,),
                        offline_replicas=(),
                    )
                    for i, e in enumerate(errors)
                ),
            )
            for error, name, topic_id, internal, errors in topics
        ),
        cluster_authorized_operations=-(2**31),
    )
    return codec.encode_response(METADATA, version, 41, make(cls, **fields))


def _ours(version: int, topics: list[MetadataTopic]) -> bytes:
    return metadata_frame(
        version, 41, node_id=NODE, host=HOST, port=PORT, cluster_id=CLUSTER, topics=topics
    )


@pytest.mark.parametrize("version", range(13))
def test_metadata_matches_kio(version: int) -> None:
    assert _ours(version, TOPICS) == _kio(version, TOPICS)
    assert _ours(version, []) == _kio(version, [])


def test_v12_names_an_unknown_topic_id_as_null() -> None:
    unknown: list[MetadataTopic] = [(100, None, uuid.uuid4(), False, [])]
    assert _ours(12, unknown) == _kio(12, unknown)


def test_versions_outside_0_to_12_are_refused() -> None:
    with pytest.raises(ValueError, match="v13"):
        _ours(13, TOPICS)
