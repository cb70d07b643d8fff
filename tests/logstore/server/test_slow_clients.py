"""Slow and idle clients cannot starve others: a length prefix alone holds nothing, a body
must arrive within its deadline, idle connections close (connections.max.idle.ms), and one
address cannot take every connection (max.connections.per.ip).

Every test runs a real broker process; time-dependent ones configure deadlines of a few
hundred milliseconds through the broker's flags, so no test waits longer than that.
"""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path

import pytest
from confluent_kafka import Producer

from logstore.broker.build import make
from logstore.records import build_batch
from tests.broker_fixture import BrokerProcess, start_broker
from tests.clients.messages import unique_topic
from tests.logstore.broker.test_bad_input import _send_fetch
from tests.logstore.broker.wire import Wire, schema
from tests.logstore.server.clients import (
    answering,
    produce_one_per_partition,
    read_every_partition,
)

MiB = 1 << 20
PRODUCE, LIST_OFFSETS = 0, 2
# The default shared in-flight budget (256 MiB), claimed in full by three prefixes.
CLAIMS = (100 * MiB, 100 * MiB, 56 * MiB)


def _closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the broker closes `sock` (reading whatever it sends), None if it
    stays open for `seconds`."""
    start = time.monotonic()
    sock.settimeout(0.05)
    while time.monotonic() - start < seconds:
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - start
        except TimeoutError:
            continue
        except ConnectionResetError:
            return time.monotonic() - start
    return None


@pytest.fixture
def quick_broker(tmp_path: Path):
    proc = start_broker(
        tmp_path / "data",
        args=[
            "--request-body-timeout-ms", "400",
            "--connections-max-idle-ms", "500",
            "--max-connections-per-ip", "4",
        ],
    )  # fmt: skip
    try:
        yield proc
    finally:
        proc.stop()


def test_length_prefixes_alone_hold_nothing_and_clients_carry_on(broker: BrokerProcess) -> None:
    # Three connections claim the whole default budget (12 bytes sent in all) and then say
    # nothing. With the default 30 s body deadline still far away, a real client must
    # produce and consume as usual.
    stalled = [socket.create_connection(("127.0.0.1", broker.port)) for _ in CLAIMS]
    try:
        for sock, claim in zip(stalled, CLAIMS, strict=True):
            sock.sendall(struct.pack(">i", claim))
        topic = unique_topic("prefix-only")
        started = time.monotonic()
        produce_one_per_partition(broker.bootstrap, topic, 1, "hello")
        seen = read_every_partition(broker.bootstrap, topic, 1, 1)
        assert seen == {0: [b"hello-0"]}
        assert time.monotonic() - started < 20
        # A big request still gets its bytes in: the claims above hold none of the budget.
        big = unique_topic("big")
        with answering(broker.bootstrap) as w:
            # 50 MiB for an API key that does not exist: read in full, then refused.
            body = struct.pack(">hhi", 32767, 0, 1).ljust(50 * MiB, b"\0")
            w.send_raw(struct.pack(">i", len(body)) + body)
            assert _closed_within(w.sock, 10) is not None
        produce_one_per_partition(broker.bootstrap, big, 1, "after")
        for sock in stalled:
            assert _closed_within(sock, 0.1) is None  # nobody was cut off for it
    finally:
        for sock in stalled:
            sock.close()


def test_a_trickled_body_is_closed_at_its_deadline(quick_broker: BrokerProcess) -> None:
    with answering(quick_broker.bootstrap) as other:
        sock = socket.create_connection(("127.0.0.1", quick_broker.port))
        try:
            sock.sendall(struct.pack(">i", 1000) + b"\0" * 10)
            start = time.monotonic()
            closed_at = None
            # A byte every 50 ms: the connection is never idle, but the body never completes.
            while time.monotonic() - start < 5:
                try:
                    sock.sendall(b"\0")
                except (BrokenPipeError, ConnectionResetError):
                    closed_at = time.monotonic() - start
                    break
                gone = _closed_within(sock, 0.05)
                if gone is not None:
                    closed_at = time.monotonic() - start
                    break
        finally:
            sock.close()
        assert closed_at is not None, "the trickling connection was never closed"
        assert 0.3 <= closed_at < 3.0
        # Everyone else was served meanwhile and still is.
        assert other.request(18, 0).error_code == 0
    assert "body bytes arrived within 400 ms" in quick_broker.log()


def test_idle_connections_close_and_busy_ones_stay(quick_broker: BrokerProcess) -> None:
    idle = answering(quick_broker.bootstrap)
    busy = answering(quick_broker.bootstrap)
    try:
        start = time.monotonic()
        # The busy connection sends a request every 100 ms for well past the idle limit.
        while time.monotonic() - start < 1.2:
            assert busy.request(18, 0).error_code == 0
            time.sleep(0.1)  # pacing the client's own requests
        closed = _closed_within(idle.sock, 2.0)
        assert closed is not None, "the idle connection was not closed"
        assert busy.request(18, 0).error_code == 0
    finally:
        idle.close()
        busy.close()
    assert "idle for more than 500 ms" in quick_broker.log()


def test_one_address_cannot_take_every_connection(quick_broker: BrokerProcess) -> None:
    held = [answering(quick_broker.bootstrap) for _ in range(4)]
    try:
        for _ in range(5):
            with Wire(quick_broker.bootstrap) as extra:
                assert extra.closed_by_peer()
        for w in held:  # the admitted ones carry on
            assert w.request(18, 0).error_code == 0
        held.pop().close()
        held.append(answering(quick_broker.bootstrap))  # a freed slot is reused
    finally:
        for w in held:
            w.close()
    log = quick_broker.log()
    # Five refusals, one message: refusals are logged at most once a minute per address.
    assert log.count("max.connections.per.ip") == 1


def _produce_request(w: Wire, topic: str, records: bytes) -> None:
    s = schema(PRODUCE, 9)
    w.send_request(
        PRODUCE,
        9,
        transactional_id=None,
        acks=1,
        timeout=5000,
        topic_data=(
            make(
                s.TopicProduceData,
                name=topic,
                partition_data=(make(s.PartitionProduceData, index=0, records=records),),
            ),
        ),
    )


def test_a_client_that_stops_reading_answers_holds_no_budget(tmp_path: Path) -> None:
    # A 1 MiB budget. The stalled client's answers (big fetches) fill its socket, so its
    # produce requests behind them are handled but never answered: their bytes must go
    # back when handled, or the next client's 600 KB request would wait forever.
    proc = start_broker(
        tmp_path / "data",
        args=["--socket-request-max-bytes", str(MiB), "--queued-max-request-bytes", str(MiB)],
    )
    try:
        big, small = unique_topic("big"), unique_topic("small")
        produce_one_per_partition(proc.bootstrap, small, 1, "warm-up")
        producer = Producer({"bootstrap.servers": proc.bootstrap, "linger.ms": 20})
        for i in range(16_000):
            producer.produce(big, value=b"x" * 1000)
            if i % 1000 == 0:
                producer.poll(0)
        assert producer.flush(60) == 0
        stalled = answering(proc.bootstrap)
        stalled.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        for _ in range(20):  # ~20 MB of answers it never reads
            _send_fetch(stalled, big, 0, max_wait=0, min_bytes=0)
        payload = build_batch([(b"k", b"p" * 400_000)], timestamp=int(time.time() * 1000))
        for _ in range(2):
            _produce_request(stalled, small, payload)
        with answering(proc.bootstrap) as w:  # wait until both were appended
            deadline = time.monotonic() + 20
            while _end_offset(w, small) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)  # polling the broker's state
            assert _end_offset(w, small) == 3
        # Another client's 600 KB request needs budget the stalled one must not hold.
        started = time.monotonic()
        late = Producer({"bootstrap.servers": proc.bootstrap, "message.max.bytes": 900_000})
        late.produce(small, value=b"q" * 600_000)
        assert late.flush(20) == 0
        assert time.monotonic() - started < 15
        stalled.close()
    finally:
        proc.stop()


def _end_offset(w: Wire, topic: str) -> int:
    s = schema(LIST_OFFSETS, 7)
    reply = w.request(
        LIST_OFFSETS,
        7,
        replica_id=-1,
        isolation_level=0,
        topics=(
            make(
                s.ListOffsetsTopic,
                name=topic,
                partitions=(
                    make(s.ListOffsetsPartition, partition_index=0, current_leader_epoch=-1,
                         timestamp=-1),
                ),
            ),
        ),
    )  # fmt: skip
    return int(reply.topics[0].partitions[0].offset)
