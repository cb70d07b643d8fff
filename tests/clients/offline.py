"""Shared by the offline-partition tests: a real broker whose partition `damaged-0` holds a
flipped byte below its recovery point after a `kill -9`, and a raw wire client.

The damage is made the way it happens: records are produced, the broker is stopped and
started again (so the recovery point checkpoint covers every record), killed with
SIGKILL, a byte in the records of an older (not the active) segment is flipped, and the
broker is started on the same data dir.
"""

from __future__ import annotations

import socket
import struct
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from logstore.protocol import codec
from tests.broker_fixture import BrokerProcess

DAMAGED = "damaged"
HEALTHY = "healthy"
RECORDS = 60  # per partition; with 1000-byte segments several segments each


def flip_byte_in_older_segment(partition_dir: Path) -> Path:
    """Flip one byte inside the records (CRC-covered) of the second segment's first batch."""
    segments = sorted(partition_dir.glob("*.log"))
    assert len(segments) >= 3, f"need older segments, found {[s.name for s in segments]}"
    target = segments[1]
    data = bytearray(target.read_bytes())
    data[70] ^= 0x55  # past the 61-byte batch header: a record's bytes
    target.write_bytes(bytes(data))
    return target


def make_damaged(broker: BrokerProcess) -> Path:
    """Fill `damaged` (2 partitions) and `healthy` (1), then crash and damage damaged-0."""
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    small = {"internal.segment.bytes": "1000"}
    futures = admin.create_topics(
        [NewTopic(DAMAGED, 2, 1, config=small), NewTopic(HEALTHY, 1, 1, config=small)]
    )
    for future in futures.values():
        future.result(10)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    for i in range(RECORDS):
        for topic, partitions in ((DAMAGED, 2), (HEALTHY, 1)):
            for p in range(partitions):
                producer.produce(topic, value=f"{i:04d}".encode() * 10, partition=p)
        producer.flush(10)
    assert producer.flush(10) == 0
    broker.stop()
    broker.start()  # a clean open checkpoints the recovery point at every log end
    broker.kill9()
    damaged = flip_byte_in_older_segment(broker.data_dir / f"{DAMAGED}-0")
    broker.start()
    return damaged


class Wire:
    """One connection; `call` sends a kio request and decodes the answer."""

    def __init__(self, bootstrap: str) -> None:
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.correlation = 0

    def send(self, api_key: int, version: int, request: Any) -> int:
        self.correlation += 1
        header = codec.RequestHeader(api_key, version, self.correlation, "offline-test")
        self.sock.sendall(codec.encode_request(header, request))
        return self.correlation

    def call(self, api_key: int, version: int, request: Any) -> Any:
        correlation = self.send(api_key, version, request)
        (size,) = struct.unpack(">i", self._read(4))
        got, response = codec.decode_response(api_key, version, self._read(size))
        assert got == correlation
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
