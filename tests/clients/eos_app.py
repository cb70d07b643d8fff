"""A consume-transform-produce application with exactly-once output, in three clients.

    python -m tests.clients.eos_app CLIENT BOOTSTRAP TXN_ID GROUP SRC DST [--crash-after N]

CLIENT is confluent, kafka-python or aiokafka. Each transaction takes up to BATCH records
from SRC (read_committed, group GROUP, no auto-commit), writes each value with "!"
appended to the same partition of DST, adds the consumer's positions to the transaction
(`send_offsets_to_transaction`) and commits. The application stops once its positions
reach SRC's end offsets (SRC is written before it starts). With --crash-after N it commits
N transactions, then starts one more, writes it, adds its offsets, flushes, prints OPEN
and blocks: the test kills it with SIGKILL there, mid-transaction. Tests run it as a real
process; it owns nothing they import.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

BATCH = 40
TIMEOUT_S = 30.0


def _hold_open() -> None:
    print("OPEN", flush=True)
    sys.stdin.read()  # until SIGKILL


def run_confluent(args: argparse.Namespace) -> None:
    from confluent_kafka import Consumer, Producer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": args.group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "log_level": 3,
        }
    )
    producer = Producer(
        {"bootstrap.servers": args.bootstrap, "transactional.id": args.txn_id, "log_level": 3}
    )
    producer.init_transactions(TIMEOUT_S)
    meta = consumer.list_topics(args.src, timeout=TIMEOUT_S).topics[args.src]
    parts = [TopicPartition(args.src, p) for p in sorted(meta.partitions)]
    ends = {tp.partition: consumer.get_watermark_offsets(tp, TIMEOUT_S)[1] for tp in parts}
    consumer.subscribe([args.src])
    committed = 0
    while True:
        msgs = [m for m in consumer.consume(BATCH, timeout=1.0) if m.error() is None]
        if not msgs:
            assigned = consumer.assignment()
            if len(assigned) == len(parts) and all(
                tp.offset >= ends[tp.partition] for tp in consumer.position(assigned)
            ):
                break
            continue
        producer.begin_transaction()
        for m in msgs:
            producer.produce(args.dst, m.value() + b"!", m.key(), partition=m.partition())
        positions = consumer.position(consumer.assignment())
        producer.send_offsets_to_transaction(
            positions, consumer.consumer_group_metadata(), TIMEOUT_S
        )
        if args.crash_after is not None and committed == args.crash_after:
            producer.flush(TIMEOUT_S)
            _hold_open()
        producer.commit_transaction(TIMEOUT_S)
        committed += 1
    consumer.close()


def run_kafka_python(args: argparse.Namespace) -> None:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    consumer = KafkaConsumer(
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    producer = KafkaProducer(bootstrap_servers=args.bootstrap, transactional_id=args.txn_id)
    producer.init_transactions()
    parts = [TopicPartition(args.src, p) for p in sorted(consumer.partitions_for_topic(args.src))]
    ends = consumer.end_offsets(parts)
    consumer.subscribe([args.src])
    committed = 0
    while True:
        batch = consumer.poll(timeout_ms=1000, max_records=BATCH)
        if not batch:
            assigned = consumer.assignment()
            if len(assigned) == len(parts) and all(
                consumer.position(tp) >= ends[tp] for tp in assigned
            ):
                break
            continue
        producer.begin_transaction()
        for tp, records in batch.items():
            for r in records:
                producer.send(args.dst, value=r.value + b"!", key=r.key, partition=tp.partition)
        offsets = {
            tp: OffsetAndMetadata(consumer.position(tp), "", -1) for tp in consumer.assignment()
        }
        producer.send_offsets_to_transaction(offsets, consumer.group_metadata())
        if args.crash_after is not None and committed == args.crash_after:
            producer.flush()
            _hold_open()
        producer.commit_transaction()
        committed += 1
    consumer.close()
    producer.close()


async def _aiokafka(args: argparse.Namespace) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    producer = AIOKafkaProducer(bootstrap_servers=args.bootstrap, transactional_id=args.txn_id)
    await producer.start()
    await consumer.start()
    try:
        parts = [TopicPartition(args.src, p) for p in sorted(await _partitions(consumer, args.src))]
        ends = await consumer.end_offsets(parts)
        consumer.subscribe([args.src])
        committed = 0
        while True:
            batch = await consumer.getmany(timeout_ms=1000, max_records=BATCH)
            if not any(batch.values()):
                assigned = consumer.assignment()
                positions = [await consumer.position(tp) for tp in assigned]
                if len(assigned) == len(parts) and all(
                    pos >= ends[tp] for tp, pos in zip(assigned, positions, strict=True)
                ):
                    break
                continue
            await producer.begin_transaction()
            for tp, records in batch.items():
                for r in records:
                    await producer.send(
                        args.dst, value=r.value + b"!", key=r.key, partition=tp.partition
                    )
            offsets = {tp: await consumer.position(tp) for tp in consumer.assignment()}
            await producer.send_offsets_to_transaction(offsets, args.group)
            if args.crash_after is not None and committed == args.crash_after:
                await producer.flush()
                _hold_open()
            await producer.commit_transaction()
            committed += 1
    finally:
        await consumer.stop()
        await producer.stop()


async def _partitions(consumer: Any, topic: str) -> set[int]:
    for _ in range(100):
        found = consumer.partitions_for_topic(topic)
        if found:
            return set(found)
        await consumer._client.force_metadata_update()  # the public call needs a subscription
    raise RuntimeError(f"no metadata for {topic}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("client", choices=("confluent", "kafka-python", "aiokafka"))
    for name in ("bootstrap", "txn_id", "group", "src", "dst"):
        parser.add_argument(name)
    parser.add_argument("--crash-after", type=int)
    args = parser.parse_args()
    if args.client == "confluent":
        run_confluent(args)
    elif args.client == "kafka-python":
        run_kafka_python(args)
    else:
        asyncio.run(_aiokafka(args))


if __name__ == "__main__":
    main()
