"""A transaction confluent-kafka leaves open, for the console's transactions tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

from confluent_kafka import KafkaException, Producer

from tests.console import groups_helpers as h


@contextmanager
def open_transaction(bootstrap: str, tid: str = "") -> Iterator[tuple[str, str]]:
    """(topic, transactional id): 2 committed records on partition 0, then an open
    transaction that wrote 3 more there and 1 to partition 1; aborted on exit (a test
    may have aborted it from the console already: the producer then learns so). The id
    is `tid`, or a fresh one."""
    topic = h.make_topic(bootstrap, partitions=2)
    plain = Producer({**h.conf(bootstrap), "enable.idempotence": True})
    for i in range(2):
        plain.produce(topic, value=f"c{i}".encode(), partition=0)
    assert plain.flush(10) == 0
    tid = tid or h.unique("txn")
    producer = Producer(
        {**h.conf(bootstrap), "transactional.id": tid, "transaction.timeout.ms": 60_000}
    )
    producer.init_transactions(10)
    producer.begin_transaction()
    for i in range(3):
        producer.produce(topic, value=f"t{i}".encode(), partition=0)
    producer.produce(topic, value=b"t", partition=1)
    assert producer.flush(10) == 0
    try:
        yield topic, tid
    finally:
        with suppress(KafkaException):
            producer.abort_transaction(10)
