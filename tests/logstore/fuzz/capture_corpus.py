"""Regenerate `corpus.hex`: real clients' request frames, recorded by a TCP proxy.

    .venv/bin/python -m tests.logstore.fuzz.capture_corpus [--out PATH] [--no-java]

Starts a broker on 127.0.0.2:P advertising 127.0.0.1, and a recording proxy on
127.0.0.1:P in front of it (so every connection a client opens, bootstrap or not, passes
through the proxy). Then kcat, confluent-kafka (producer, consumer group, admin),
kafka-python, aiokafka and Kafka's Java VerifiableProducer/VerifiableConsumer do ordinary
work through it. The proxy cuts each client-to-broker stream into frames; up to
PER_VERSION distinct frames of at most MAX_FRAME bytes are kept per (api key, version).
Every advertised version no client sent is filled in from its kio schema
(`synth.frame`), marked `synth` in the file, so the corpus covers every API the broker
advertises. Owns nothing the tests import except the file it writes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from logstore.broker.api import supported_ranges
from logstore.protocol import codec
from tests.broker_fixture import REPO_ROOT
from tests.logstore.fuzz import synth
from tests.logstore.fuzz.runner import CORPUS

PER_VERSION = 3
MAX_FRAME = 4096


class Recorder:
    """An asyncio TCP proxy in a thread that keeps every client request body it relays."""

    def __init__(self, listen_port: int, upstream: tuple[str, int]) -> None:
        self.port = listen_port
        self.upstream = upstream
        self.frames: list[tuple[str, bytes]] = []
        self.source = "?"
        self.recording = True
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Recorder:
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", self.port)
        )
        self.ready.set()
        self.loop.run_forever()
        server.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        back = asyncio.create_task(self._pipe(up_reader, writer))
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                head = await reader.readexactly(4)
                body = await reader.readexactly(int.from_bytes(head, "big", signed=True))
                if self.recording:
                    self.frames.append((self.source, body))
                up_writer.write(head + body)
        up_writer.close()
        back.cancel()
        writer.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _kcat(bootstrap: str, recorder: Recorder) -> None:
    topic = "corpus-kcat"
    run = {"timeout": 60, "check": False, "capture_output": True}
    subprocess.run(["kcat", "-b", bootstrap, "-L"], **run)  # type: ignore[call-overload]
    subprocess.run(
        ["kcat", "-b", bootstrap, "-t", topic, "-P", "-K:"], input=b"k:v\nk2:v2\n", **run
    )  # type: ignore[call-overload]
    subprocess.run(["kcat", "-b", bootstrap, "-t", topic, "-C", "-o", "beginning", "-e"], **run)  # type: ignore[call-overload]
    subprocess.run(
        ["kcat", "-b", bootstrap, "-G", "corpus-kcat-group", topic, "-o", "beginning", "-e"],
        **run,
    )  # type: ignore[call-overload]


def _confluent(bootstrap: str, recorder: Recorder) -> None:
    from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, Producer, TopicPartition
    from confluent_kafka.admin import (
        AdminClient,
        AlterConfigOpType,
        ConfigEntry,
        ConfigResource,
        NewPartitions,
        NewTopic,
        OffsetSpec,
    )

    topic = "corpus-confluent"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    # Recorded with validate_only: a fuzzed copy must not create thousands of partitions.
    for future in admin.create_topics([NewTopic(topic, 2, 1)], validate_only=True).values():
        future.result(10)
    recorder.recording = False
    for future in admin.create_topics([NewTopic(topic, 2, 1)]).values():
        future.result(10)
    recorder.recording = True
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    for future in admin.describe_configs([resource]).values():
        future.result(10)
    entry = ConfigEntry("retention.ms", "600000", incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[entry])
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(10)
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for i in range(20):
        producer.produce(topic, key=b"k%d" % i, value=b"v" * i)
    producer.flush(10)
    group = "corpus-confluent-group"
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    deadline = time.monotonic() + 15
    seen = 0
    while seen < 20 and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            seen += 1
    consumer.commit(asynchronous=False)
    consumer.close()
    _share_consumer(bootstrap, topic)
    parts = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
    calls = [
        lambda: admin.list_offsets({p: OffsetSpec.latest() for p in parts}).values(),
        lambda: admin.list_consumer_groups(),
        lambda: admin.describe_consumer_groups([group]).values(),
        lambda: admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)]).values(),
        lambda: admin.describe_cluster(),
        lambda: admin.create_partitions([NewPartitions(topic, 3)], validate_only=True).values(),
        lambda: admin.delete_records([TopicPartition(topic, 0, 1)]).values(),
        lambda: admin.delete_consumer_groups([group]).values(),
        lambda: admin.delete_topics([topic]).values(),
    ]
    for call in calls:
        result = call()
        for future in result if not hasattr(result, "result") else [result]:
            with contextlib.suppress(Exception):
                future.result(10)


def _share_consumer(bootstrap: str, topic: str) -> None:
    """ShareGroupHeartbeat, ShareFetch and ShareAcknowledge as librdkafka sends them."""
    from confluent_kafka import AcknowledgeType, ShareConsumer
    from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource
    from confluent_kafka.admin import ResourceType as AdminResource

    group = "corpus-share-group"
    entry = ConfigEntry(
        "share.auto.offset.reset", "earliest", incremental_operation=AlterConfigOpType.SET
    )
    resource = ConfigResource(AdminResource.GROUP, group, incremental_configs=[entry])
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(10)
    consumer = ShareConsumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "share.acknowledgement.mode": "explicit",
        }
    )
    consumer.subscribe([topic])
    deadline = time.monotonic() + 15
    seen = 0
    while seen < 20 and time.monotonic() < deadline:
        for msg in consumer.poll(0.5) or []:
            if msg.error() is None:
                seen += 1
                consumer.acknowledge(msg, AcknowledgeType.ACCEPT)
        consumer.commit_sync()
    consumer.close()


def _kafka_python(bootstrap: str, recorder: Recorder) -> None:
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

    topic = "corpus-kafka-python"
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for i in range(10):
        producer.send(topic, key=b"k", value=b"v%d" % i)
    producer.flush(10)
    producer.close(5)
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id="corpus-kafka-python-group",
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
    )
    for _ in consumer:
        pass
    consumer.commit()
    consumer.close()
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    with contextlib.suppress(Exception):
        admin.describe_log_dirs()
    with contextlib.suppress(Exception):
        admin.list_consumer_groups()
    admin.close()


def _aiokafka(bootstrap: str, recorder: Recorder) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    async def work() -> None:
        topic = "corpus-aiokafka"
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        for i in range(10):
            await producer.send_and_wait(topic, b"v%d" % i)
        await producer.stop()
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, group_id="corpus-aiokafka-group",
            auto_offset_reset="earliest",
        )  # fmt: skip
        await consumer.start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(consumer.getmany(timeout_ms=3000), 10)
        await consumer.commit()
        await consumer.stop()

    asyncio.run(work())


def _java(bootstrap: str, recorder: Recorder) -> None:
    from tests.java.verifiable import verifiable_consumer, verifiable_producer

    verifiable_producer(bootstrap, "corpus-java", 20)
    verifiable_consumer(bootstrap, "corpus-java", "corpus-java-group", 20)


def capture(java: bool) -> list[tuple[str, bytes]]:
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        log = (Path(tmp) / "broker.log").open("wb")
        broker = subprocess.Popen(
            [
                sys.executable, "-m", "logstore", "serve", "--data-dir", f"{tmp}/data",
                "--listen", f"127.0.0.2:{port}", "--advertised-host", "127.0.0.1",
            ],
            cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            _wait_listening(("127.0.0.2", port))
            with Recorder(port, ("127.0.0.2", port)) as recorder:
                bootstrap = f"127.0.0.1:{port}"
                clients = [_kcat, _confluent, _kafka_python, _aiokafka]
                if java:
                    clients.append(_java)
                for client in clients:
                    recorder.source = client.__name__.strip("_")
                    try:
                        client(bootstrap, recorder)
                    except Exception as exc:  # one client failing still leaves the others
                        print(f"{recorder.source}: {type(exc).__name__}: {exc}", file=sys.stderr)
                return list(recorder.frames)
        finally:
            broker.terminate()
            broker.wait(20)


def _wait_listening(address: tuple[str, int]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(address, timeout=1):
            return
        time.sleep(0.05)  # polling the broker's readiness
    raise RuntimeError("broker did not start")


def _legacy_produce(version: int) -> bytes:
    """Produce v0-2 (no kio schema): acks, timeout, one topic, one empty message set."""
    assert version <= 2, version
    name = b"corpus-legacy"
    return (
        struct.pack(">hhih", 0, version, 1, 6) + b"legacy"
        + struct.pack(">hii", -1, 10_000, 1) + struct.pack(">h", len(name)) + name
        + struct.pack(">iii", 1, 0, 0)
    )  # fmt: skip


def select(frames: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Up to PER_VERSION distinct small frames per (api, version), then synth for the rest."""
    import logstore.broker.handlers  # noqa: F401  (registers every handler)

    kept: dict[tuple[int, int], list[tuple[str, bytes]]] = defaultdict(list)
    for source, body in frames:
        if len(body) > MAX_FRAME or len(body) < 8:
            continue
        api_key, version, _ = codec.peek_header(body)
        bucket = kept[(api_key, version)]
        if len(bucket) < PER_VERSION and all(b[8:] != body[8:] for _, b in bucket):
            bucket.append((source, body))
    for api_key, lo, hi in supported_ranges():
        for version in range(lo, hi + 1):
            if kept.get((api_key, version)):
                continue
            if codec.request_class(api_key, version) is None:
                kept[(api_key, version)].append(("legacy", _legacy_produce(version)))
                continue
            for nulls in (False, True):
                body = synth.frame(api_key, version, nulls=nulls)[4:]
                kept[(api_key, version)].append(("synth", body))
    return [item for key in sorted(kept) for item in kept[key]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=CORPUS)
    parser.add_argument("--no-java", action="store_true")
    args = parser.parse_args()
    chosen = select(capture(java=not args.no_java))
    lines = ["# Request bodies (no length prefix), hex; regenerate: see capture_corpus.py"]
    for source, body in chosen:
        api_key, version, _ = codec.peek_header(body)
        lines.append(f"{body.hex()} {source} api={api_key} v{version}")
    args.out.write_text("\n".join(lines) + "\n")
    sources = defaultdict(int)
    for source, _ in chosen:
        sources[source] += 1
    print(f"{len(chosen)} frames -> {args.out}: {dict(sources)}")


if __name__ == "__main__":
    main()
