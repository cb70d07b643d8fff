"""A real broker process seen from outside: its `/metrics` scraped and parsed with
prometheus_client's own parser after producing and consuming, its JSON log lines, the
request log at debug level, and the events an operator looks for (topics created and
deleted, group rebalances), each logged once with its reason."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families

from tests.broker_fixture import BrokerProcess, start_broker

QUIET = {"log_level": 0}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def observed(tmp_path: Path) -> Iterator[tuple[BrokerProcess, int]]:
    """A broker configured by file: metrics on, DEBUG, JSON lines."""
    metrics_port = _free_port()
    config = tmp_path / "server.properties"
    config.write_text(
        "# what an operator would write\n"
        f"odradek.metrics.listen=127.0.0.1:{metrics_port}\n"
        "odradek.log.level=DEBUG\n"
        "odradek.log.format=json\n"
        "num.partitions=2\n"
    )
    proc = start_broker(tmp_path / "data", ["--config", str(config)])
    try:
        yield proc, metrics_port
    finally:
        if proc.running:
            proc.stop()


def _scrape(port: int) -> dict[str, list[tuple[dict[str, str], float]]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        assert reply.status == 200
        text = reply.read().decode()
    series: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            series.setdefault(sample.name, []).append((sample.labels, sample.value))
    return series


def _value(series: dict, name: str, **labels: str) -> float:
    matches = [
        value
        for have, value in series.get(name, [])
        if all(have.get(k) == want for k, want in labels.items())
    ]
    assert len(matches) == 1, (name, labels, series.get(name))
    return matches[0]


def _log_entries(proc: BrokerProcess) -> list[dict]:
    lines = proc.log_path.read_text(errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def _wait_for_log(proc: BrokerProcess, predicate, timeout_s: float = 10.0) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while True:
        found = [e for e in _log_entries(proc) if predicate(e)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)  # polling another process's log file


def test_metrics_logs_and_events_of_a_real_broker(observed) -> None:
    proc, metrics_port = observed
    topic = f"obs-{uuid.uuid4().hex[:8]}"
    group = f"obs-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": proc.bootstrap, **QUIET})
    admin.create_topics([NewTopic(topic, 2)])[topic].result(10)

    producer = Producer({"bootstrap.servers": proc.bootstrap, "linger.ms": 0, **QUIET})
    for i in range(10):
        producer.produce(topic, value=b"v" * 100, key=str(i).encode(), partition=i % 2)
        producer.flush(10)  # one batch per record: ten Produce requests
    consumer = Consumer(
        {
            "bootstrap.servers": proc.bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            **QUIET,
        }
    )
    consumer.subscribe([topic])
    got = 0
    deadline = time.monotonic() + 30
    while got < 10 and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            got += 1
    assert got == 10
    consumer.commit(asynchronous=False)

    series = _scrape(metrics_port)
    # Requests per API, with a latency histogram per API.
    assert _value(series, "kafka_network_requestmetrics_requests_total", request="Produce") >= 10
    assert _value(series, "kafka_network_requestmetrics_requests_total", request="Fetch") >= 1
    produce_count = _value(
        series, "kafka_network_requestmetrics_totaltime_seconds_count", request="Produce"
    )
    inf = _value(
        series,
        "kafka_network_requestmetrics_totaltime_seconds_bucket",
        request="Produce",
        le="+Inf",
    )
    assert produce_count == inf >= 10
    # Per-topic traffic: every record of the ten batches, and what the consumer fetched.
    bytes_in = _value(series, "kafka_server_brokertopicmetrics_bytesin_total", topic=topic)
    assert _value(series, "kafka_server_brokertopicmetrics_messagesin_total", topic=topic) == 10
    assert bytes_in > 10 * 100
    assert _value(series, "kafka_server_brokertopicmetrics_bytesout_total", topic=topic) >= bytes_in
    # Partition gauges computed at scrape time.
    for partition in ("0", "1"):
        labels = {"topic": topic, "partition": partition}
        assert _value(series, "kafka_log_log_logendoffset", **labels) == 5
        assert _value(series, "kafka_log_log_logstartoffset", **labels) == 0
        assert _value(series, "kafka_log_log_size", **labels) == bytes_in / 2
        assert _value(series, "kafka_log_log_numlogsegments", **labels) == 1
    assert (
        _value(series, "kafka_server_socket_server_metrics_connection_count", listener="PLAINTEXT")
        >= 2
    )
    assert _value(series, "kafka_coordinator_group_groupmetadatamanager_numgroups") >= 1
    assert _value(series, "kafka_log_logflushstats_logflush_seconds_count") >= 1  # acks=all
    for name in (
        "odradek_log_retention_deleted_segments_total",
        "odradek_log_cleaner_passes_total",
        "kafka_server_replicamanager_produceridcount",
        "process_resident_memory_bytes",
    ):
        assert name in series

    consumer.close()
    admin.delete_topics([topic])[topic].result(10)

    # Every line is a JSON object; events name their reason.
    created = _wait_for_log(proc, lambda e: "created topic " + topic in e["message"])
    assert len(created) == 1
    assert "CreateTopics from 127.0.0.1" in created[0]["message"]
    assert created[0]["logger"] == "logstore.topics"
    deleted = _wait_for_log(proc, lambda e: "deleted topic " + topic in e["message"])
    assert len(deleted) == 1
    rebalances = _wait_for_log(
        proc, lambda e: e["message"].startswith(f"group {group} rebalancing")
    )
    assert rebalances
    assert "joined" in rebalances[0]["message"]
    # The request log: one debug line per request, with its fields as data.
    produces = [
        e
        for e in _log_entries(proc)
        if e["logger"] == "logstore.request" and e.get("api") == "Produce"
    ]
    assert len(produces) >= 10
    entry = produces[0]
    assert entry["level"] == "DEBUG"
    assert entry["client_host"] == "127.0.0.1"
    assert entry["client_id"] == "rdkafka"
    assert entry["api_version"] >= 3
    assert entry["latency_ms"] >= 0
    assert entry["errors"] == []
    for line in proc.log_path.read_text().splitlines():
        json.loads(line)  # nothing but JSON lines in this format


def test_errors_are_counted_per_api_and_the_request_log_stays_quiet_at_info(broker) -> None:
    """Default level INFO: no request lines. Errors counted need a metrics endpoint, so
    this broker has one given by flag."""
    port = _free_port()
    proc = BrokerProcess(
        broker.data_dir.parent / "second", args=["--metrics-listen", f"127.0.0.1:{port}"]
    )
    proc.data_dir.mkdir()
    proc.start()
    try:
        admin = AdminClient({"bootstrap.servers": proc.bootstrap, **QUIET})
        with pytest.raises(Exception, match=r"INVALID_REPLICATION_FACTOR|replication"):
            admin.create_topics([NewTopic("bad-rf", 1, replication_factor=3)])["bad-rf"].result(10)
        series = _scrape(port)
        assert (
            _value(
                series,
                "kafka_network_requestmetrics_errors_total",
                request="CreateTopics",
                error="INVALID_REPLICATION_FACTOR",
            )
            == 1
        )
    finally:
        proc.stop()
    text = proc.log_path.read_text()
    assert "logstore.request" not in text
    assert "metrics on http://127.0.0.1:" in text


def test_a_busy_metrics_port_stops_the_start_with_a_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = BrokerProcess(tmp_path / "data", args=["--metrics-listen", f"127.0.0.1:{port}"])
        proc.data_dir.mkdir()
        with pytest.raises(RuntimeError, match="broker exited with 1"):
            proc.start()
    assert f"metrics on 127.0.0.1:{port}: Address already in use" in proc.log()
    # Storage was closed as a clean stop leaves it (the marker a restart checks).
    assert (proc.data_dir / ".clean-shutdown").exists()


def test_fetch_partition_errors_are_counted(tmp_path: Path) -> None:
    """Fetch replies are pre-encoded: its handler counts the errors of each partition."""
    port = _free_port()
    proc = start_broker(
        tmp_path / "data", ["--metrics-listen", f"127.0.0.1:{port}", "--no-auto-create-topics"]
    )
    try:
        consumer = Consumer(
            {
                "bootstrap.servers": proc.bootstrap,
                "group.id": "g",
                "topic.metadata.refresh.interval.ms": 100000,
                **QUIET,
            }
        )
        admin = AdminClient({"bootstrap.servers": proc.bootstrap, **QUIET})
        admin.create_topics([NewTopic("gone", 1)])["gone"].result(10)
        producer = Producer({"bootstrap.servers": proc.bootstrap, **QUIET})
        producer.produce("gone", b"x")
        producer.flush(10)
        consumer.assign([TopicPartition("gone", 0, 0)])
        assert consumer.poll(10) is not None
        admin.delete_topics(["gone"])["gone"].result(10)
        # The consumer keeps fetching the partition it was assigned: the broker answers
        # each fetch with UNKNOWN_TOPIC_OR_PARTITION for it until the client notices.
        deadline = time.monotonic() + 10
        series = _scrape(port)
        while time.monotonic() < deadline:
            consumer.poll(0.2)
            series = _scrape(port)
            errors = series.get("kafka_network_requestmetrics_errors_total", [])
            if any(lbl.get("request") == "Fetch" for lbl, _ in errors):
                break
        assert (
            _value(
                series,
                "kafka_network_requestmetrics_errors_total",
                request="Fetch",
                error="UNKNOWN_TOPIC_OR_PARTITION",
            )
            >= 1
        )
        consumer.close()
    finally:
        proc.stop()
