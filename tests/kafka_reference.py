"""Pytest fixture `kafka_broker`: one real Apache Kafka 4.4 (KRaft, single node) per session.

Owns the fixture's lifetime only; launching, formatting and stopping live in
`reference.launcher`. It must never skip: if Java or the jars are missing the fixture
fails with the launcher's message, because a suite that silently drops its reference
proves nothing.
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator

import pytest

from reference.launcher import KafkaBroker, KafkaUnavailable, start_kafka


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    data_dir = tmp_path_factory.mktemp("kafka")
    try:
        broker = start_kafka(data_dir)
    except KafkaUnavailable as exc:
        pytest.fail(f"reference Apache Kafka unavailable: {exc}", pytrace=False)
    # atexit as well as the finalizer: an interrupted session (Ctrl-C, timeout) may skip
    # fixture teardown, and a stray JVM would hold 512 MB on a shared machine.
    atexit.register(broker.stop, 10.0)
    try:
        yield broker
    finally:
        broker.stop()
