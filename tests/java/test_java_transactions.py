"""Kafka's Java client in transactions, against Odradek and Apache Kafka.

`TransactionProbe.java` runs under the JDK's source launcher with the Kafka 4.4 jars: a
commit and an abort, a second producer with the same transactional id fencing the first,
a transaction the broker aborts past its `transaction.timeout.ms`, then the partition read
by the Java consumer at both isolation levels. Both brokers must give the same lines: the
committed records only at read_committed, the aborted, fenced and timed-out ones besides at
read_uncommitted, and the same exception for the fenced and the timed-out producer.

Odradek runs transactions version 1 (no KIP-890 part 2), so the reference here is a Kafka
formatted with `transaction.version=1`: on a default Kafka 4.4 the Java client uses
version 2 and the fenced producer gets InvalidProducerEpochException, the timed-out one
InvalidTxnStateException, instead of ProducerFencedException for both.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from reference.launcher import java_command, start_kafka
from tests.broker_fixture import start_broker
from tests.clusters import Cluster
from tests.differential.harness import assert_same, create_topic, observe
from tests.probe_lines import probe_lines

pytestmark = pytest.mark.kafka

PROBE = Path(__file__).with_name("TransactionProbe.java")
# Both brokers sweep timed-out transactions every 500 ms here; the probe's transaction
# times out after 1 s, so it is aborted within 1.5 s.
SWEEP_MS = 500
TIMEOUT_WAIT_MS = 4_000
RUN_TIMEOUT_S = 180


def scenario(cluster: Cluster) -> list[str]:
    run = uuid.uuid4().hex[:8]
    topic = f"java-txn-{run}"
    create_topic(cluster, topic, partitions=1)
    return probe_lines(
        java_command(
            str(PROBE), [cluster.bootstrap, topic, f"java-txn-{run}", str(TIMEOUT_WAIT_MS)]
        ),
        RUN_TIMEOUT_S,
    )


@pytest.fixture(scope="module")
def clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, Cluster]]:
    kafka = start_kafka(
        tmp_path_factory.mktemp("kafka-tv1"),
        extra_config={"transaction.abort.timed.out.transaction.cleanup.interval.ms": str(SWEEP_MS)},
        format_args=("--feature", "transaction.version=1"),
    )
    try:
        odradek = start_broker(
            tmp_path_factory.mktemp("odradek") / "data",
            args=("--transaction-abort-timed-out-transaction-cleanup-interval-ms", str(SWEEP_MS)),
        )
        try:
            yield (
                Cluster("kafka", kafka.bootstrap, "kafka"),
                Cluster("odradek", odradek.bootstrap, "odradek"),
            )
        finally:
            odradek.stop()
    finally:
        kafka.stop()


def test_java_client_transactions_behave_as_against_kafka(
    clusters: tuple[Cluster, Cluster],
) -> None:
    seen = observe(clusters, scenario)
    kafka = seen["kafka"]
    assert kafka[:2] == ["COMMIT ok", "ABORT ok"]
    assert kafka[-2] == "read_committed c1,c2,s1"
    committed_or_not = kafka[-1].split(" ", 1)[1].split(",")
    assert sorted(committed_or_not) == sorted(["c1", "c2", "a1", "s1", "t1"])
    assert_same(seen)
