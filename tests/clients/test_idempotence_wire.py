"""Idempotence rules on the wire, with hand-built batches, across a `kill -9` restart.

A real client only retries when it must, so this test replays batches on purpose: a retry
is acknowledged with its original offset (before and after the broker is killed and
restarted, when producer state must be rebuilt from disk), a sequence gap is refused with
OUT_OF_ORDER_SEQUENCE_NUMBER (45), and once a producer has written with a bumped epoch
(idempotent producers bump it themselves) the old epoch is fenced with
INVALID_PRODUCER_EPOCH (47). InitProducerId presenting the current id and epoch (KIP-360)
gets a new id, as from Kafka.
"""

from __future__ import annotations

import socket
import struct
import uuid
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kio.schema.init_producer_id.v4.request import InitProducerIdRequest
from kio.schema.produce.v9.request import (
    PartitionProduceData,
    ProduceRequest,
    TopicProduceData,
)

from logstore.broker.build import make
from logstore.protocol import codec
from logstore.protocol.api_keys import ApiKey
from logstore.records import build_batch

OUT_OF_ORDER_SEQUENCE_NUMBER = 45
INVALID_PRODUCER_EPOCH = 47


class WireClient:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.correlation = 0

    def call(self, api_key: int, version: int, request: Any) -> Any:
        self.correlation += 1
        header = codec.RequestHeader(api_key, version, self.correlation, "wire-test")
        self.sock.sendall(codec.encode_request(header, request))
        (size,) = struct.unpack(">i", self._read(4))
        correlation, response = codec.decode_response(api_key, version, self._read(size))
        assert correlation == self.correlation
        return response

    def _read(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            assert chunk, "broker closed the connection"
            buf += chunk
        return buf

    def close(self) -> None:
        self.sock.close()


def init_producer(client: WireClient, pid: int = -1, epoch: int = -1) -> tuple[int, int]:
    request = make(
        InitProducerIdRequest,
        transactional_id=None,
        transaction_timeout=60_000,
        producer_id=pid,
        producer_epoch=epoch,
    )
    response = client.call(ApiKey.INIT_PRODUCER_ID, 4, request)
    assert response.error_code == 0
    return response.producer_id, response.producer_epoch


def produce(client: WireClient, topic: str, pid: int, epoch: int, seq: int, n: int) -> Any:
    batch = build_batch(
        [(None, f"{pid}-{epoch}-{seq + i}".encode()) for i in range(n)],
        producer_id=pid,
        producer_epoch=epoch,
        base_sequence=seq,
    )
    request = make(
        ProduceRequest,
        transactional_id=None,
        acks=-1,
        timeout=10_000,
        topic_data=(
            make(
                TopicProduceData,
                name=topic,
                partition_data=(make(PartitionProduceData, index=0, records=batch),),
            ),
        ),
    )
    response = client.call(ApiKey.PRODUCE, 9, request)
    return response.responses[0].partition_responses[0]


def log_end(bootstrap: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused"})
    _, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    consumer.close()
    return high


def test_retries_are_deduplicated_across_kill9_and_bad_sequences_refused(broker) -> None:
    topic = f"idem-wire-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(10)
    client = WireClient(broker.port)
    pid, epoch = init_producer(client)
    assert epoch == 0

    first = produce(client, topic, pid, 0, 0, 5)
    assert (first.error_code, first.base_offset) == (0, 0)
    retry = produce(client, topic, pid, 0, 0, 5)
    assert (retry.error_code, retry.base_offset) == (0, 0)
    client.close()

    broker.kill9()
    broker.restart()
    client = WireClient(broker.port)
    retry = produce(client, topic, pid, 0, 0, 5)
    assert (retry.error_code, retry.base_offset) == (0, 0), "retry after a crash appended again"
    second = produce(client, topic, pid, 0, 5, 5)
    assert (second.error_code, second.base_offset) == (0, 5)
    gap = produce(client, topic, pid, 0, 20, 1)
    assert gap.error_code == OUT_OF_ORDER_SEQUENCE_NUMBER

    fresh = produce(client, topic, pid, 1, 0, 2)  # bumped by the producer: sequence 0
    assert (fresh.error_code, fresh.base_offset) == (0, 10)
    fenced = produce(client, topic, pid, 0, 10, 1)
    assert fenced.error_code == INVALID_PRODUCER_EPOCH
    other_pid, other_epoch = init_producer(client, pid, 1)
    assert other_pid != pid
    assert other_epoch == 0
    client.close()
    assert log_end(broker.bootstrap, topic) == 12
