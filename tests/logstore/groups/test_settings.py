"""Group settings: Kafka's names and defaults, the broker flags named after them, and the
checks that refuse a contradictory set before the broker starts."""

from __future__ import annotations

import pytest

from logstore.__main__ import build_parser, config_from_args, main
from logstore.config import BrokerConfig
from logstore.groups.coordinator import GroupCoordinator
from logstore.groups.settings import GroupSettings, kafka_names
from logstore.server.listener import BrokerServer


def test_defaults_are_kafkas() -> None:
    s = GroupSettings()
    assert (s.initial_rebalance_delay_ms, s.min_session_timeout_ms) == (3000, 6000)
    assert (s.max_session_timeout_ms, s.max_size, s.consumer_max_size) == (
        1_800_000,
        2**31 - 1,
        2**31 - 1,
    )
    assert (s.consumer_session_timeout_ms, s.consumer_heartbeat_interval_ms) == (45_000, 5000)
    assert (s.offsets_retention_minutes, s.offsets_retention_check_interval_ms) == (
        10_080,
        600_000,
    )
    assert "group.initial.rebalance.delay.ms" in kafka_names()
    assert ("group.initial.rebalance.delay.ms", "3000") in s.as_kafka()
    assert len(s.as_kafka()) == len(kafka_names())


def test_flags_are_named_after_kafkas_settings() -> None:
    args = build_parser().parse_args(
        [
            "serve",
            "--data-dir",
            "d",
            "--group-initial-rebalance-delay-ms",
            "0",
            "--offsets-retention-minutes",
            "5",
            "--group-consumer-heartbeat-interval-ms",
            "1000",
        ]
    )
    settings = config_from_args(args).groups
    assert settings == GroupSettings(
        initial_rebalance_delay_ms=0,
        offsets_retention_minutes=5,
        consumer_heartbeat_interval_ms=1000,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--group-min-session-timeout-ms", "7000", "--group-max-session-timeout-ms", "6000"],
            "group.min.session.timeout.ms must not exceed",
        ),
        (["--offsets-retention-minutes", "0"], "offsets.retention.minutes must be positive"),
        (["--group-initial-rebalance-delay-ms", "-1"], "delay.ms must not be negative"),
        (
            ["--group-consumer-heartbeat-interval-ms", "45000"],
            "group.consumer.heartbeat.interval.ms must be below",
        ),
    ],
)
def test_bad_group_settings_exit_2(tmp_path, capsys, args, message) -> None:
    data = tmp_path / "data"
    assert main(["serve", "--data-dir", str(data), *args]) == 2
    assert message in capsys.readouterr().err
    assert not data.exists()


async def test_the_settings_reach_the_coordinator(tmp_path) -> None:
    settings = GroupSettings(initial_rebalance_delay_ms=250, max_size=3)
    server = BrokerServer(BrokerConfig(data_dir=tmp_path, port=0, groups=settings))
    await server.start()
    try:
        assert server.broker is not None
        coord = server.broker.groups
        assert isinstance(coord, GroupCoordinator)
        assert coord.settings is settings
    finally:
        await server.shutdown()
