"""A test module's own pair of brokers, Apache Kafka and Odradek, with the same settings.

For differential scenarios that cannot use the session's shared pair: they are about a
setting the shared brokers lower for speed (`group.initial.rebalance.delay.ms`,
`offsets.retention.minutes`), or they restart the brokers. Each Kafka setting given is
passed to Odradek as the flag of the same name (`--group-initial-rebalance-delay-ms`).

It must never skip: a missing JVM or jars fail the module, as the shared fixture does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import pytest

from reference.launcher import KafkaBroker, KafkaUnavailable, start_kafka
from tests.broker_fixture import BrokerProcess, start_broker
from tests.clusters import Cluster


@contextmanager
def broker_pair(
    tmp_path_factory: pytest.TempPathFactory,
    label: str,
    settings: Mapping[str, str],
    *,
    config_file: bool = False,
) -> Iterator[tuple[KafkaBroker, BrokerProcess]]:
    """Start Kafka then Odradek with `settings` (given to Odradek as flags, or with
    `config_file` as the server.properties Kafka reads); stop both when the block ends."""
    try:
        kafka = start_kafka(tmp_path_factory.mktemp(f"kafka-{label}"), extra_config=settings)
    except KafkaUnavailable as exc:
        pytest.fail(f"reference Apache Kafka unavailable: {exc}", pytrace=False)
    odradek: BrokerProcess | None = None
    try:
        home = tmp_path_factory.mktemp(f"odradek-{label}")
        flags = [f"--{name.replace('.', '-')}={value}" for name, value in settings.items()]
        if config_file:
            properties = home / "server.properties"
            properties.write_text("".join(f"{n}={v}\n" for n, v in settings.items()))
            flags = ["--config", str(properties)]
        odradek = start_broker(home / "data", flags)
        yield kafka, odradek
    finally:
        if odradek is not None and odradek.running:
            odradek.stop()
        kafka.stop()


def clusters_of(kafka: KafkaBroker, odradek: BrokerProcess) -> tuple[Cluster, Cluster]:
    """Kafka first, as the shared `clusters` fixture orders them."""
    return Cluster("kafka", kafka.bootstrap, "kafka"), Cluster(
        "odradek", odradek.bootstrap, "odradek"
    )
