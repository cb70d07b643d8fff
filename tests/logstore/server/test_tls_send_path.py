"""Fetch answers on a PLAINTEXT connection still leave through sendfile; on a TLS connection
the same file slices are read and written through the TLS transport (sendfile would bypass
it), with the records intact. Checked on an in-process server, where each connection's
reply writer counts the bytes it sent each way. The records are produced over TLS in
requests larger than the buffer the TLS layer decrypts into, so the read path is crossed
too."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition

from logstore.__main__ import build_parser, config_from_args
from logstore.security.dev_ca import create
from logstore.server.listener import BrokerServer

VALUES = [bytes([i]) * 200_000 for i in range(1, 9)]


def _produce(config: dict, topic: str) -> None:
    producer = Producer(config)
    for value in VALUES:
        producer.produce(topic, value)
    assert producer.flush(30) == 0


def _reader(config: dict, topic: str) -> tuple[Consumer, list[bytes]]:
    """A consumer that read every record and stays connected."""
    consumer = Consumer({**config, "group.id": topic, "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    got: list[bytes] = []
    for _ in range(60):
        for msg in consumer.consume(100, timeout=0.5):
            assert msg.error() is None, msg.error()
            got.append(msg.value())
        if len(got) >= len(VALUES):
            break
    return consumer, got


async def test_plaintext_keeps_sendfile_and_tls_copies(tmp_path: Path) -> None:
    create(tmp_path / "ca", ("127.0.0.1",), ())
    path = tmp_path / "server.properties"
    path.write_text(
        "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0\n"
        "ssl.keystore.type=PEM\n"
        f"ssl.keystore.location={tmp_path / 'ca' / 'server.pem'}\n"
    )
    args = build_parser().parse_args(
        ["serve", "--config", str(path), "--data-dir", str(tmp_path / "data")]
    )
    server = BrokerServer(config_from_args(args))
    await server.start()
    topic = f"send-{uuid.uuid4().hex[:6]}"
    plain = f"127.0.0.1:{server.ports['PLAINTEXT']}"
    tls = {
        "bootstrap.servers": f"127.0.0.1:{server.ports['SSL']}",
        "security.protocol": "SSL",
        "ssl.ca.location": str(tmp_path / "ca" / "ca.pem"),
    }
    readers: list[Consumer] = []
    try:
        await asyncio.to_thread(_produce, tls, topic)
        for config in ({"bootstrap.servers": plain}, tls):
            consumer, got = await asyncio.to_thread(_reader, config, topic)
            readers.append(consumer)
            assert got == VALUES
        sent: dict[str, list[tuple[int, int]]] = {}
        for conn in server._connections.values():
            replies = conn.replies
            sent.setdefault(conn.listener, []).append(
                (replies.zero_copy_bytes, replies.copied_bytes)
            )
        total = sum(len(v) for v in VALUES)
        assert sum(z for z, _ in sent["PLAINTEXT"]) >= total
        assert sum(z for z, _ in sent["SSL"]) == 0
        assert sum(c for _, c in sent["SSL"]) >= total
    finally:
        for consumer in readers:
            await asyncio.to_thread(consumer.close)
        await server.shutdown()
