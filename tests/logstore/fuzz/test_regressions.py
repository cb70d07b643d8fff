"""Findings of fuzzing, each pinned: the input that once crashed or leaked a traceback.

The length bomb is sent to a broker of its own (it must survive and keep serving the
connections that did nothing wrong). The null-array cases run against Apache Kafka too:
a non-nullable array sent as null is a parse error there, so the connection closes; the
same request with an empty array gets a real answer, and both brokers agree on it.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable
from typing import Any

import pytest

from logstore.broker.build import make
from logstore.protocol import codec
from logstore.records import build_batch
from tests.broker_fixture import BrokerProcess
from tests.clusters import Cluster
from tests.differential.wire import exchange
from tests.logstore.broker.wire import Wire, schema
from tests.logstore.protocol.test_guard import METADATA_BOMB

PRODUCE, FETCH, API_VERSIONS, METADATA = 0, 1, 18, 3
OFFSET_COMMIT, FIND_COORDINATOR, JOIN_GROUP = 8, 10, 11
NOT_READY = {14, 15, 16}  # coordinator loading / not available / not coordinator


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_metadata_length_bomb_closes_only_its_connection(broker: BrokerProcess) -> None:
    before = _rss_kib(broker.pid)
    with Wire(broker.bootstrap) as bystander, Wire(broker.bootstrap) as attacker:
        assert bystander.request(API_VERSIONS, 0).error_code == 0
        attacker.send_raw(METADATA_BOMB)
        assert attacker.closed_by_peer()
        assert bystander.request(API_VERSIONS, 0).error_code == 0
        meta = bystander.request(
            METADATA, 12, topics=None, allow_auto_topic_creation=False,
            include_topic_authorized_operations=False,
        )  # fmt: skip
        assert meta.brokers[0].port == broker.port
    assert broker.running
    assert _rss_kib(broker.pid) - before < 50 * 1024
    log = broker.log_path.read_text(errors="replace")
    assert "Traceback" not in log
    assert "elements cannot fit" in log  # refused by the guard, reported once


def _frame(api_key: int, version: int, request: Any) -> bytes:
    return codec.encode_request(codec.RequestHeader(api_key, version, 9, "regress"), request)


def _join_group(version: int, *, null_protocols: bool) -> bytes:
    request = make(
        codec.request_class(JOIN_GROUP, version),
        group_id="regress-join",
        session_timeout=10_000,
        rebalance_timeout=10_000,
        member_id="",
        group_instance_id=None,
        protocol_type="consumer",
        protocols=(),
    )
    raw = _frame(JOIN_GROUP, version, request)
    return _null_last_array(raw, flexible=version >= 6) if null_protocols else raw


def _offset_commit(version: int, *, null_topics: bool) -> bytes:
    request = make(
        codec.request_class(OFFSET_COMMIT, version),
        group_id="regress-commit",
        generation_id_or_member_epoch=-1,
        member_id="",
        group_instance_id=None,
        retention_time_ms=-1,
        topics=(),
    )
    raw = _frame(OFFSET_COMMIT, version, request)
    return _null_last_array(raw, flexible=version >= 8) if null_topics else raw


def _null_last_array(raw: bytes, *, flexible: bool) -> bytes:
    """Turn the request's trailing empty array into a null one (same frame length)."""
    if flexible:  # compact length 0+1, then the empty tagged-field section
        assert raw.endswith(b"\x01\x00")
        return raw[:-2] + b"\x00\x00"
    assert raw.endswith(struct.pack(">i", 0))
    return raw[:-4] + struct.pack(">i", -1)


def _answer(cluster: Cluster, raw: bytes, api_key: int, version: int) -> Any:
    reply = exchange(cluster.bootstrap, raw)
    if isinstance(reply, str):
        return reply
    correlation_id, response = codec.decode_response(api_key, version, reply)
    assert correlation_id == 9
    return response


def _until_coordinator(cluster: Cluster, group: str, ask: Callable[[], Any]) -> Any:
    """Ask again while a fresh Kafka is still creating the group's coordinator."""
    find = make(codec.request_class(FIND_COORDINATOR, 2), key=group, key_type=0)
    deadline = time.monotonic() + 60
    while True:
        # FindCoordinator is what makes Kafka create __consumer_offsets.
        _answer(cluster, _frame(FIND_COORDINATOR, 2, find), FIND_COORDINATOR, 2)
        response = ask()
        if int(response.error_code) not in NOT_READY or time.monotonic() > deadline:
            return response
        time.sleep(0.2)  # polling the reference's readiness, not waiting for time to pass


@pytest.mark.parametrize("version", [5, 7])
def test_join_group_with_null_protocols(cluster: Cluster, version: int) -> None:
    assert _answer(cluster, _join_group(version, null_protocols=True), JOIN_GROUP, version) == (
        "closed"
    )
    empty = _until_coordinator(
        cluster,
        "regress-join",
        lambda: _answer(cluster, _join_group(version, null_protocols=False), JOIN_GROUP, version),
    )
    # No protocol to agree on: INCONSISTENT_GROUP_PROTOCOL, before any member id is issued.
    assert (int(empty.error_code), empty.member_id, empty.members) == (23, "", ())


@pytest.mark.parametrize("version", [2, 8, 9])
def test_offset_commit_with_null_topics(cluster: Cluster, version: int) -> None:
    null = _answer(cluster, _offset_commit(version, null_topics=True), OFFSET_COMMIT, version)
    assert null == "closed"
    empty = _answer(cluster, _offset_commit(version, null_topics=False), OFFSET_COMMIT, version)
    assert empty.topics == ()


def _produce_megabytes(w: Wire, topic: str, megabytes: int) -> None:
    s = schema(PRODUCE, 9)
    for _ in range(megabytes):
        batch = build_batch([(None, b"x" * 1000)] * 1000, timestamp=int(time.time() * 1000))
        response = w.request(
            PRODUCE, 9, transactional_id=None, acks=1, timeout=5000,
            topic_data=(make(s.TopicProduceData, name=topic, partition_data=(
                make(s.PartitionProduceData, index=0, records=batch),)),),
        )  # fmt: skip
        assert response.responses[0].partition_responses[0].error_code == 0


def test_reset_during_a_zero_copy_fetch_logs_no_traceback(broker: BrokerProcess) -> None:
    """Found by bench/fuzz.py: a client that resets while a large Fetch is being sent."""
    topic = f"reset-{time.monotonic_ns()}"
    with Wire(broker.bootstrap) as w:
        w.request(METADATA, 12, topics=(make(schema(METADATA, 12).MetadataRequestTopic,
                  name=topic, topic_id=None),), allow_auto_topic_creation=True,
                  include_topic_authorized_operations=False)  # fmt: skip
        _produce_megabytes(w, topic, 8)
    for _ in range(10):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the reply must queue
        sock.connect(("127.0.0.1", broker.port))
        s = schema(FETCH, 12)
        fetch = make(
            codec.request_class(FETCH, 12), replica_id=-1, max_wait=0, min_bytes=1,
            max_bytes=64 << 20, isolation_level=0, session_id=0, session_epoch=-1,
            topics=(make(s.FetchTopic, topic=topic, partitions=(make(
                s.FetchPartition, partition=0, fetch_offset=0, partition_max_bytes=64 << 20,
            ),)),),
            forgotten_topics_data=(), rack_id="",
        )  # fmt: skip
        sock.sendall(_frame(FETCH, 12, fetch))
        sock.recv(4096)  # the reply has started; the rest is stuck in the broker's buffers
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # RST, mid-reply
    with Wire(broker.bootstrap) as w:  # served on
        assert w.request(API_VERSIONS, 0).error_code == 0
    assert "Traceback" not in broker.log_path.read_text(errors="replace")


def test_a_flood_of_bad_frames_writes_a_bounded_log(broker: BrokerProcess) -> None:
    """Each refused frame closes its connection; the reason is logged once a minute per
    client address and kind, so a fuzzer cannot fill the disk with log lines."""
    before = broker.log_path.stat().st_size
    for _ in range(200):
        with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as sock:
            sock.sendall(bytes.fromhex("000000110003000c0000000700017800ffffffff0f"))
            assert sock.recv(16) == b""  # closed by the broker, nothing answered
    with Wire(broker.bootstrap) as w:
        assert w.request(API_VERSIONS, 0).error_code == 0
    grown = broker.log_path.read_text(errors="replace")[before:].splitlines()
    # The fixture's readiness probe may have its reset logged (a kind of its own) after
    # `before` was measured: only the refused frames' kind is counted.
    refused = [
        line
        for line in grown
        if "closing connection from 127.0.0.1" in line and "Connection reset" not in line
    ]
    assert len(refused) == 1, grown
