"""kcat (Debian's librdkafka build) against a real broker: -P with every codec, keys and
headers; -C from the beginning as JSON; -Q offsets by timestamp; -L metadata.

kcat has no admin commands (create/delete topics, delete records): those run through
confluent-kafka's AdminClient here, which is the same librdkafka underneath."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from tests.clients.messages import CODECS, unique_topic

TIMEOUT = 30


def kcat(*args: str, data: bytes | None = None) -> str:
    result = subprocess.run(
        ["kcat", *args], input=data, capture_output=True, timeout=TIMEOUT, check=False
    )
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def _create(bootstrap: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})  # must outlive its futures
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(TIMEOUT)


@pytest.mark.parametrize("codec", CODECS)
def test_produce_and_consume_every_codec(shared_broker, codec: str) -> None:
    b = shared_broker.bootstrap
    topic = unique_topic(f"kcat-{codec}")
    _create(b, topic)
    lines = [f"key-{i}:value-{i}-{'y' * i}" for i in range(30)]
    before = int(time.time() * 1000)
    kcat(
        "-P", "-b", b, "-t", topic, "-p", "0", "-z", codec, "-K", ":",
        "-H", "trace=abc", "-H", "kind=test",
        data=("\n".join(lines) + "\n").encode(),
    )  # fmt: skip
    after = int(time.time() * 1000)
    out = kcat("-C", "-b", b, "-t", topic, "-p", "0", "-o", "beginning", "-e", "-J", "-q")
    messages = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert [m["offset"] for m in messages] == list(range(30))
    assert [f"{m['key']}:{m['payload']}" for m in messages] == lines
    assert all(m["headers"] == ["trace", "abc", "kind", "test"] for m in messages)
    assert all(m["tstype"] == "create" and before <= m["ts"] <= after for m in messages)


def test_offsets_by_timestamp_with_query_mode(shared_broker) -> None:
    b = shared_broker.bootstrap
    topic = unique_topic("kcat-q")
    _create(b, topic)
    # Separate kcat runs give separate batches with rising timestamps.
    for i in range(3):
        kcat("-P", "-b", b, "-t", topic, "-p", "0", data=f"m{i}\n".encode())
    out = kcat("-C", "-b", b, "-t", topic, "-p", "0", "-o", "beginning", "-e", "-J", "-q")
    stamps = [json.loads(line)["ts"] for line in out.splitlines() if line.strip()]
    assert len(stamps) == 3
    target = stamps[1]
    answer = kcat("-Q", "-b", b, "-t", f"{topic}:0:{target}")
    first_at_or_after = next(i for i, ts in enumerate(stamps) if ts >= target)
    assert f"offset {first_at_or_after}" in answer


def test_metadata_listing_shows_broker_and_topics(shared_broker) -> None:
    b = shared_broker.bootstrap
    topic = unique_topic("kcat-l")
    _create(b, topic)
    out = kcat("-L", "-b", b)
    assert f"broker 0 at {b}" in out
    assert f'topic "{topic}" with 1 partitions' in out
    data = json.loads(kcat("-L", "-b", b, "-J"))
    assert data["brokers"] == [{"id": 0, "name": b}]
    assert any(t["topic"] == topic for t in data["topics"])
