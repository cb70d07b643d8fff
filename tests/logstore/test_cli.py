"""`python -m logstore serve` argument handling: bad settings are refused with a readable
message and exit status 2, before anything is opened or bound."""

from __future__ import annotations

import pytest

from logstore.__main__ import main
from logstore.config import BrokerConfig
from logstore.server.listener import BrokerServer


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--listen", "nowhere"], "expected HOST:PORT"),
        (["--listen", "127.0.0.1:70000"], "port must be 0..65535"),
        (["--default-partitions", "0"], "default partitions must be at least 1"),
        (["--cleaner-io-max-bytes-per-second", "0"], "byte rate must be positive"),
        (["--log-retention-check-interval-ms", "0"], "retention check interval must be at least"),
        (["--transaction-max-timeout-ms", "0"], "transaction-max-timeout-ms must be at least 1"),
        (
            ["--transaction-abort-timed-out-transaction-cleanup-interval-ms", "-1"],
            "cleanup-interval-ms must be at least 1",
        ),
        (["--connections-max-idle-ms", "0"], "connections-max-idle-ms must be at least 1"),
        (["--socket-request-max-bytes", "10"], "socket-request-max-bytes must be at least 64"),
        (
            ["--socket-request-max-bytes", "2000", "--queued-max-request-bytes", "1000"],
            "queued-max-request-bytes must be at least socket-request-max-bytes",
        ),
        (["--request-body-timeout-ms", "-5"], "request-body-timeout-ms must be at least 1"),
        (["--max-connections", "0"], "max-connections must be at least 1"),
        (["--max-connections-per-ip", "0"], "max-connections-per-ip must be at least 1"),
        (["--max-broker-partitions", "0"], "max-broker-partitions must be at least 1"),
        (["--max-partitions-per-topic", "-1"], "max-partitions-per-topic must be at least 1"),
        (["--max-open-segment-files", "0"], "max-open-segment-files must be at least 1"),
    ],
)
def test_bad_settings_exit_2_with_a_message(tmp_path, capsys, args, message) -> None:
    data = tmp_path / "data"
    assert main(["serve", "--data-dir", str(data), *args]) == 2
    assert message in capsys.readouterr().err
    assert not data.exists()  # nothing was created for a broker that never started


async def test_the_cleaner_budget_reaches_storage(tmp_path) -> None:
    server = BrokerServer(
        BrokerConfig(data_dir=tmp_path, port=0, cleaner_io_max_bytes_per_second=5e6)
    )
    await server.start()
    try:
        assert server.broker is not None
        assert server.broker.logs._compaction.rate == 5e6
    finally:
        await server.shutdown()


async def test_the_limits_reach_storage_and_the_listener(tmp_path) -> None:
    server = BrokerServer(
        BrokerConfig(
            data_dir=tmp_path,
            port=0,
            max_connections=7,
            max_connections_per_ip=3,
            max_broker_partitions=50,
            max_partitions_per_topic=20,
            max_open_segment_files=9,
        )
    )
    await server.start()
    try:
        assert server.broker is not None
        logs = server.broker.logs
        assert (logs.max_broker_partitions, logs.max_partitions_per_topic) == (50, 20)
        assert logs._handles.capacity == 9
        assert (server.plan.connections, server._admission.max_per_ip) == (7, 3)
    finally:
        await server.shutdown()


async def test_the_retention_check_interval_reaches_storage(tmp_path) -> None:
    server = BrokerServer(
        BrokerConfig(data_dir=tmp_path, port=0, log_retention_check_interval_ms=60_000)
    )
    await server.start()
    try:
        assert server.broker is not None
        assert server.broker.logs.retention_check_interval_ms == 60_000
        assert BrokerConfig(data_dir=tmp_path).log_retention_check_interval_ms == 300_000
    finally:
        await server.shutdown()
