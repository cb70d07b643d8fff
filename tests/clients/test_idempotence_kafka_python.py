"""A kafka-python producer (idempotent by default) across several `kill -9` broker restarts.

The producer keeps sending while the test kills the broker (SIGKILL) and starts it again
on the same port and data dir. Batches in flight at the kill are retried by the client;
the broker must acknowledge retries of batches it already appended with their original
offsets (producer state rebuilt on restart), so consuming afterwards finds every
acknowledged record exactly once, in order per partition.
"""

from __future__ import annotations

from kafka import KafkaProducer

from tests.clients.kill9 import PARTITIONS, TOTAL, Killer, assert_exactly_once, create_topic
from tests.clients.messages import unique_topic


def test_no_duplicate_and_no_gap_across_kill9_restarts(broker) -> None:
    topic = unique_topic("idem-kp")
    create_topic(broker.bootstrap, topic)
    acked: dict[int, int] = {}  # value -> partition
    producer = KafkaProducer(
        bootstrap_servers=broker.bootstrap,
        acks="all",
        linger_ms=2,
        batch_size=400,  # ~20 records per batch: many batches in flight
        reconnect_backoff_ms=50,
        reconnect_backoff_max_ms=500,
        delivery_timeout_ms=120_000,
        request_timeout_ms=10_000,
    )
    assert producer.config["enable_idempotence"], "kafka-python 3 is idempotent by default"
    futures = {}
    done: list[int] = []  # appended by the sender thread as acknowledgements arrive
    killer = Killer(broker, lambda: len(done))
    for i in range(TOTAL):
        futures[i] = producer.send(topic, value=str(i).encode(), partition=i % PARTITIONS)
        futures[i].add_callback(lambda meta: done.append(meta.offset))
    # Deliveries run while the killer thread crashes the broker with batches in flight.
    producer.flush(120)
    killer.join()
    for i, fut in futures.items():
        acked[i] = fut.get(timeout=1).partition
    producer.close()
    assert len(acked) == TOTAL

    assert_exactly_once(broker.bootstrap, topic, acked)
