"""Reading and writing records: the message browser's ranges, one-record peeks (lag in
time, reset previews) and produce.

Owns the short-lived consumers and producers that touch records. A browser read takes
each partition's range forward (or backwards in growing chunks) until its budget runs out
(`console.message_pages` turns what it found into a page); a peek reads the first record
at or after each of many offsets at once. It must never wait without a bound, never join
a consumer group or commit an offset: browsing leaves no trace on the cluster.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from confluent_kafka import (
    TIMESTAMP_CREATE_TIME,
    TIMESTAMP_LOG_APPEND_TIME,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from console.kafka.config import ClusterConfig
from console.kafka.errors import ClusterError, Refused, Timeout, kafka_reason
from console.kafka.model import Produced, Record

TP = tuple[str, int]
# Records fetched per consume() call: big enough to amortise the call, small enough that
# one call never overshoots a budget by much.
CONSUME_BATCH = 500
# Groups that are never joined: librdkafka insists on a group id even for assign().
BROWSE_GROUP = "odradek-console-browser"
PEEK_GROUP = "odradek-console-peek"


def record_of(msg: Message) -> Record:
    """A fetched message as the console keeps it."""
    ts_type, ts = msg.timestamp()
    raw_headers: Any = msg.headers() or ()  # a list of (name, bytes) pairs at runtime
    kind = {TIMESTAMP_CREATE_TIME: "CreateTime", TIMESTAMP_LOG_APPEND_TIME: "LogAppendTime"}
    return Record(
        partition=msg.partition() or 0,
        offset=msg.offset() or 0,
        timestamp=ts if ts_type in kind else -1,
        timestamp_type=kind.get(ts_type, ""),
        key=msg.key(),
        value=msg.value(),
        headers=tuple((name, v.encode() if isinstance(v, str) else v) for name, v in raw_headers),
    )


def _browse_consumer(cluster: ClusterConfig) -> Consumer:
    try:
        return Consumer(
            {
                **cluster.client_config(),
                "group.id": BROWSE_GROUP,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "enable.partition.eof": True,
                "fetch.wait.max.ms": 100,
                "queued.max.messages.kbytes": 16384,
            }
        )
    except KafkaException as exc:
        raise ClusterError(f"cannot create a consumer: {kafka_reason(exc)}") from exc


# --------------------------------------------------------------------------- browsing


class Budget(Protocol):
    """What a read may still spend (`console.browse.Budget`): bytes and time."""

    def exhausted(self) -> bool: ...

    def remaining(self) -> float: ...

    def take(self, record: Record) -> None: ...


Keep = Callable[[Record], bool]


def read_partitions(
    cluster: ClusterConfig,
    topic: str,
    spans: dict[int, tuple[int, int]],
    *,
    backward: bool,
    keep: Keep,
    want: int,
    budget: Budget,
) -> tuple[dict[int, list[Record]], dict[int, int]]:
    """Up to `want` kept records of each partition, read forward from `spans[p][0]` up to
    the log end `spans[p][1]`, or backward from the first towards the second (the log
    start). Returns (records per partition, oldest first; how far each read reached)."""
    consumer = _browse_consumer(cluster)
    found: dict[int, list[Record]] = {}
    reached: dict[int, int] = {}
    try:
        for p, (first, last) in spans.items():
            if backward:
                found[p], reached[p] = _read_back(
                    consumer, topic, p, last, first, keep, want, budget
                )
            else:
                found[p], reached[p], _ = _read_range(
                    consumer, topic, p, first, last, keep, want, budget
                )
    finally:
        consumer.close()
    return found, reached


def _read_range(
    consumer: Consumer,
    topic: str,
    partition: int,
    start: int,
    stop: int,
    keep: Keep,
    want: int,
    budget: Budget,
) -> tuple[list[Record], int, bool]:
    """Matches in [start, stop) read forward, up to `want` of them.

    Returns (matches, next offset not yet looked at, whether the range was finished).
    """
    if start >= stop:
        return [], start, True
    consumer.assign([TopicPartition(topic, partition, start)])
    matches: list[Record] = []
    position = start
    while not budget.exhausted():
        # consume() waits for a full batch or its timeout; take what is queued, and when
        # nothing is, poll() returns as soon as the next message arrives.
        batch = consumer.consume(CONSUME_BATCH, timeout=0)
        if not batch:
            msg = consumer.poll(max(0.01, min(0.5, budget.remaining())))
            batch = [msg] if msg is not None else []
        for msg in batch:
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    return matches, stop, True
                raise ClusterError(f"reading partition {partition} failed: {err.str()}")
            offset = msg.offset() or 0
            if offset >= stop:
                return matches, stop, True
            record = record_of(msg)
            budget.take(record)
            position = offset + 1
            if keep(record):
                matches.append(record)
                if len(matches) >= want:
                    return matches, position, position >= stop
            if position >= stop:
                return matches, position, True
            if budget.exhausted():
                break
    return matches, position, False


def _read_back(
    consumer: Consumer,
    topic: str,
    partition: int,
    low: int,
    end: int,
    keep: Keep,
    want: int,
    budget: Budget,
) -> tuple[list[Record], int]:
    """Matches before `end`, read in growing chunks backwards, until `want` or `low`.

    Returns (matches, lowest offset scanned). A chunk cut short by the budget is dropped so
    that what was scanned stays one contiguous range.
    """
    matches: list[Record] = []
    chunk = max(want, 16)
    while end > low and len(matches) < want and not budget.exhausted():
        begin = max(low, end - chunk)
        found, _, finished = _read_range(
            consumer, topic, partition, begin, end, keep, end - begin, budget
        )
        if not finished:
            break
        matches = found + matches
        end = begin
        chunk = min(chunk * 2, 100_000)
    return matches, end


# --------------------------------------------------------------------------- peeking

_STAMPS: OrderedDict[tuple[str, str, int, int], tuple[float, int | None]] = OrderedDict()
_STAMPS_MAX = 50_000
# A record never changes at an offset, but a topic deleted and re-created reuses offsets.
_STAMPS_TTL_S = 600.0


def record_timestamps(
    cluster: ClusterConfig, at: dict[TP, int], timeout: float | None = None
) -> dict[TP, int | None]:
    """Timestamp (ms) of the first record at or after each offset; None at the log end.

    One consumer assigned to every partition reads one record from each, then stops.
    Results are cached per (cluster, partition, offset): a record at an offset is fixed.
    """
    out = cached_timestamps(cluster, at)
    missing = {tp: o for tp, o in at.items() if tp not in out}
    if missing:
        found = _peek(cluster, missing, timeout if timeout is not None else cluster.timeout_s)
        remember(cluster, {tp: (missing[tp], ts) for tp, ts in found.items()})
        out |= found
    return out


def cached_timestamps(cluster: ClusterConfig, at: dict[TP, int]) -> dict[TP, int | None]:
    """The timestamps of `at` already known (a record at an offset never changes)."""
    now = time.monotonic()
    out: dict[TP, int | None] = {}
    for tp, offset in at.items():
        hit = _STAMPS.get((cluster.bootstrap, tp[0], tp[1], offset))
        if hit is not None and now - hit[0] < _STAMPS_TTL_S:
            out[tp] = hit[1]
    return out


def remember(cluster: ClusterConfig, stamps: dict[TP, tuple[int, int | None]]) -> None:
    """Keep (offset, timestamp) per partition, learned by a peek or any other read."""
    now = time.monotonic()
    for tp, (offset, ts) in stamps.items():
        _STAMPS[(cluster.bootstrap, tp[0], tp[1], offset)] = (now, ts)
    while len(_STAMPS) > _STAMPS_MAX:
        _STAMPS.popitem(last=False)


def forget_timestamps(cluster: ClusterConfig | None = None) -> None:
    """Forget cached record timestamps of one cluster, or of all (benchmarks measure the
    cold path with it)."""
    if cluster is None:
        _STAMPS.clear()
        return
    for key in [k for k in _STAMPS if k[0] == cluster.bootstrap]:
        del _STAMPS[key]


def _peek(cluster: ClusterConfig, at: dict[TP, int], timeout: float) -> dict[TP, int | None]:
    consumer = Consumer(
        {
            **cluster.client_config(),
            "group.id": PEEK_GROUP,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "fetch.wait.max.ms": 10,
            # One record per partition is all we want; keep every partition's fetch small.
            "max.partition.fetch.bytes": 65536,
            "isolation.level": "read_uncommitted",
            # A position below the log start (records deleted by retention) reads the
            # oldest record still kept: that is the first one the group will get.
            "auto.offset.reset": "earliest",
        }
    )
    out: dict[TP, int | None] = {}
    try:
        consumer.assign([TopicPartition(t, p, o) for (t, p), o in at.items()])
        deadline = time.monotonic() + timeout
        while len(out) < len(at) and time.monotonic() < deadline:
            done = []
            for msg in consumer.consume(num_messages=10_000, timeout=0.05):
                key = (msg.topic(), msg.partition())
                if key in out or key not in at:
                    continue
                err = msg.error()
                if err is None:
                    _kind, ts = msg.timestamp()
                    out[key] = ts if ts >= 0 else None
                elif err.code() == KafkaError._PARTITION_EOF:
                    out[key] = None
                else:
                    continue
                done.append(TopicPartition(*key))
            if done:
                consumer.pause(done)
    finally:
        consumer.close()
    for tp in at:
        out.setdefault(tp, None)
    return out


# --------------------------------------------------------------------------- producing


def produce(
    cluster: ClusterConfig,
    topic: str,
    value: bytes | None,
    *,
    key: bytes | None = None,
    headers: Sequence[tuple[str, bytes]] = (),
    partition: int | None = None,
    timeout: float = 10.0,
) -> Produced:
    """Write one record with acks=all and wait for its offset."""
    producer = Producer(
        {
            **cluster.client_config(),
            "acks": "all",
            "message.timeout.ms": int(timeout * 1000),
            "allow.auto.create.topics": False,
        }
    )
    outcome: dict[str, Any] = {}

    def delivered(err: KafkaError | None, msg: Message) -> None:
        outcome["err"], outcome["msg"] = err, msg

    kwargs: dict[str, Any] = {"value": value, "key": key, "on_delivery": delivered}
    if headers:
        kwargs["headers"] = list(headers)
    if partition is not None:
        kwargs["partition"] = partition
    try:
        producer.produce(topic, **kwargs)
    except (KafkaException, BufferError) as exc:
        raise ClusterError(f"could not send: {exc}") from exc
    producer.flush(timeout)
    if "msg" not in outcome:
        raise Timeout(f"no answer from the cluster within {timeout:g} s")
    err, msg = outcome["err"], outcome["msg"]
    if err is not None:
        raise Refused(f"the cluster refused the record: {err.str()}")
    _, ts = msg.timestamp()
    return Produced(partition=msg.partition(), offset=msg.offset(), timestamp=ts)
