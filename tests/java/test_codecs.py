"""Kafka's Java client and librdkafka read each other's compressed batches, every codec.

The Java producer (VerifiableProducer with `compression.type`) writes; the batches are
checked to be stored compressed with that codec (a raw Fetch, no client decoding), and
confluent-kafka reads every value back. Then confluent-kafka writes with the same codec
and Java's VerifiableConsumer reads everything. lz4 is the interesting one: Java frames
lz4 differently from the spec's checksum rules, and brokers that recompress or validate
get it wrong.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from logstore.broker.build import make
from logstore.protocol.api_keys import ApiKey
from logstore.records import iter_headers
from tests.clusters import Cluster
from tests.differential.harness import create_topic, produce, read_partition
from tests.java.verifiable import named, verifiable_consumer, verifiable_producer
from tests.logstore.broker.wire import Wire, schema

COUNT = 400
CODECS = {"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def stored_codecs(bootstrap: str, topic: str) -> set[int]:
    """The compression codec of every batch the cluster holds from offset 0 (raw Fetch)."""
    s = schema(ApiKey.FETCH, 12)
    with Wire(bootstrap) as w:
        response = w.request(
            ApiKey.FETCH,
            12,
            max_wait=0,
            min_bytes=0,
            max_bytes=8 << 20,
            isolation_level=0,
            topics=(
                make(
                    s.FetchTopic,
                    topic=topic,
                    partitions=(
                        make(s.FetchPartition, partition=0, fetch_offset=0,
                             partition_max_bytes=8 << 20),
                    ),
                ),
            ),
            forgotten_topics_data=(),
        )  # fmt: skip
    records = response.responses[0].partitions[0].records
    return {header.compression for _, header in iter_headers(memoryview(records))}


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_java_and_librdkafka_read_each_others_batches(
    cluster: Cluster, codec: str, tmp_path: Path
) -> None:
    topic = f"java-{codec}-{uuid.uuid4().hex[:8]}"
    create_topic(cluster, topic, partitions=1)
    config = tmp_path / "producer.properties"
    config.write_text(f"compression.type={codec}\nlinger.ms=20\nbatch.size=65536\n")

    events = verifiable_producer(cluster.bootstrap, topic, COUNT, config=config)
    assert named(events, "producer_send_error") == []
    assert len(named(events, "producer_send_success")) == COUNT
    assert stored_codecs(cluster.bootstrap, topic) == {CODECS[codec]}
    records, errors = read_partition(cluster, topic, 0, 0, COUNT)
    assert errors == []
    values = [r[3] for r in records]  # message_view: (partition, offset, key, value, …)
    assert values == [str(i).encode() for i in range(COUNT)]

    reports = produce(
        cluster,
        topic,
        [{"value": f"c{i}".encode(), "partition": 0} for i in range(COUNT)],
        # librdkafka sends a batch uncompressed when compressing does not shrink it (a
        # few tiny records): the records must leave together, also on a loaded machine.
        warm=True,
        **{"compression.type": codec, "linger.ms": 1000},
    )
    assert {error for _, _, error in reports} == {"OK"}
    assert stored_codecs(cluster.bootstrap, topic) == {CODECS[codec]}
    events = verifiable_consumer(
        cluster.bootstrap, topic, f"java-{codec}-{uuid.uuid4().hex[:6]}", 2 * COUNT
    )
    read = [r["value"] for r in named(events, "record_data")]
    assert read == [str(i) for i in range(COUNT)] + [f"c{i}" for i in range(COUNT)]
