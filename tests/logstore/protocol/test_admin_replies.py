"""The hand-written ListOffsets, DescribeLogDirs and DescribeConfigs answers must be
byte-for-byte what kio encodes, for every version the broker serves."""

from __future__ import annotations

import pytest

from logstore.broker.build import make
from logstore.protocol import codec
from logstore.protocol.admin_replies import (
    describe_configs_frame,
    describe_log_dirs_frame,
    list_offsets_frame,
)

LIST_OFFSETS, DESCRIBE_CONFIGS, DESCRIBE_LOG_DIRS = 2, 32, 35

OFFSET_TOPICS = [
    ("orders", [(0, 0, -1, 42, 0), (1, 0, 1_700_000_000_123, 7, 0), (2, 3, -1, -1, -1)]),
    ("é-ünïcode." + "x" * 200, [(5, 0, 2**40, 2**50, 0)]),
    ("empty", []),
]


@pytest.mark.parametrize("version", range(1, 8))
def test_list_offsets_matches_kio(version: int) -> None:
    schema = codec.response_module(LIST_OFFSETS, version)
    expected = codec.encode_response(
        LIST_OFFSETS,
        version,
        99,
        make(
            codec.response_class(LIST_OFFSETS, version),
            throttle_time=0,
            topics=tuple(
                make(
                    schema.ListOffsetsTopicResponse,
                    name=name,
                    partitions=tuple(
                        make(
                            schema.ListOffsetsPartitionResponse,
                            partition_index=p,
                            error_code=err,
                            timestamp=ts,
                            offset=off,
                            leader_epoch=epoch,
                        )
                        for p, err, ts, off, epoch in rows
                    ),
                )
                for name, rows in OFFSET_TOPICS
            ),
        ),
    )
    assert list_offsets_frame(version, 99, OFFSET_TOPICS) == expected


@pytest.mark.parametrize("version", range(1, 5))
def test_describe_log_dirs_matches_kio(version: int) -> None:
    topics = [("orders", [(0, 1234), (1, 0)]), ("big", [(7, 2**40)]), ("none", [])]
    schema = codec.response_module(DESCRIBE_LOG_DIRS, version)
    result = make(
        schema.DescribeLogDirsResult,
        error_code=0,
        log_dir="/var/lib/odradek/données",
        topics=tuple(
            make(
                schema.DescribeLogDirsTopic,
                name=name,
                partitions=tuple(
                    make(
                        schema.DescribeLogDirsPartition,
                        partition_index=p,
                        partition_size=size,
                        offset_lag=0,
                        is_future_key=False,
                    )
                    for p, size in rows
                ),
            )
            for name, rows in topics
        ),
        total_bytes=10**12,
        usable_bytes=5 * 10**11,
    )
    expected = codec.encode_response(
        DESCRIBE_LOG_DIRS,
        version,
        7,
        make(
            codec.response_class(DESCRIBE_LOG_DIRS, version),
            throttle_time=0,
            error_code=0,
            results=(result,),
        ),
    )
    got = describe_log_dirs_frame(
        version, 7, "/var/lib/odradek/données", topics, 10**12, 5 * 10**11
    )
    assert got == expected


CONFIG_RESULTS = [
    (
        0,
        None,
        2,
        "orders",
        [
            ("retention.ms", "604800000", False, 5, False, [("retention.ms", "604800000", 5)], 5),
            ("cleanup.policy", "compact", False, 1, False, [], 7),
            ("secret", None, True, 4, True, [("secret", None, 4)], 2),
        ],
    ),
    (3, "unknown topic 'gone'", 2, "gone", []),
    (0, None, 4, "0", [("broker.id", "0", True, 4, False, [], 5)]),
]


@pytest.mark.parametrize("version", range(1, 5))
def test_describe_configs_matches_kio(version: int) -> None:
    schema = codec.response_module(DESCRIBE_CONFIGS, version)
    expected = codec.encode_response(
        DESCRIBE_CONFIGS,
        version,
        3,
        make(
            codec.response_class(DESCRIBE_CONFIGS, version),
            throttle_time=0,
            results=tuple(
                make(
                    schema.DescribeConfigsResult,
                    error_code=err,
                    error_message=message,
                    resource_type=rtype,
                    resource_name=rname,
                    configs=tuple(
                        make(
                            schema.DescribeConfigsResourceResult,
                            name=name,
                            value=value,
                            read_only=read_only,
                            config_source=source,
                            is_sensitive=sensitive,
                            synonyms=tuple(
                                make(schema.DescribeConfigsSynonym, name=n, value=v, source=s)
                                for n, v, s in synonyms
                            ),
                            config_type=ctype,
                            documentation=None,
                        )
                        for name, value, read_only, source, sensitive, synonyms, ctype in entries
                    ),
                )
                for err, message, rtype, rname, entries in CONFIG_RESULTS
            ),
        ),
    )
    assert describe_configs_frame(version, 3, CONFIG_RESULTS) == expected


def test_versions_outside_the_range_are_refused() -> None:
    with pytest.raises(ValueError):
        list_offsets_frame(8, 1, [])
    with pytest.raises(ValueError):
        describe_log_dirs_frame(5, 1, "/d", [], 0, 0)
    with pytest.raises(ValueError):
        describe_configs_frame(0, 1, [])
