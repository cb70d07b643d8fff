"""An idempotent confluent-kafka producer across several `kill -9` restarts of the broker.

The producer keeps sending while the test kills the broker (SIGKILL) and starts it again
on the same port and data dir. Batches in flight at the kill are retried by the client;
the broker must acknowledge retries of batches it already appended with their original
offsets (producer state rebuilt on restart), so consuming afterwards finds every
acknowledged record exactly once, in order per partition.
"""

from __future__ import annotations

from confluent_kafka import Producer

from tests.clients.kill9 import PARTITIONS, TOTAL, Killer, assert_exactly_once, create_topic
from tests.clients.messages import unique_topic


def test_no_duplicate_and_no_gap_across_kill9_restarts(broker) -> None:
    topic = unique_topic("idem-ck")
    create_topic(broker.bootstrap, topic)
    acked: dict[int, int] = {}  # value -> partition
    failed: list[str] = []

    def on_delivery(err, msg) -> None:
        if err is None:
            acked[int(msg.value())] = msg.partition()
        else:
            failed.append(str(err))

    producer = Producer(
        {
            "bootstrap.servers": broker.bootstrap,
            "enable.idempotence": True,
            "linger.ms": 2,
            "batch.num.messages": 20,
            "reconnect.backoff.ms": 50,
            "reconnect.backoff.max.ms": 500,
        }
    )
    killer = Killer(broker, lambda: len(acked))
    for i in range(TOTAL):
        producer.produce(
            topic, value=str(i).encode(), partition=i % PARTITIONS, on_delivery=on_delivery
        )
    # Deliveries run while the killer thread crashes the broker with batches in flight.
    assert producer.flush(120) == 0
    killer.join()
    assert failed == []
    assert len(acked) == TOTAL

    assert_exactly_once(broker.bootstrap, topic, acked)
