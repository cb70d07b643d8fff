"""Live tail: one consumer per (cluster, topic), shared by every viewer in this process.

Owns the registry of running tails (`join` / `leave`, counted per viewer), the polling
thread, and the frames a tail publishes through the `publish` callback its first viewer
hands in (the console passes its channel layer's `group_send`). confluent-kafka's
calls block, so they run on the tail's own thread, never on the event loop; the thread
hands finished frames to the loop with `run_coroutine_threadsafe` and waits for each to be
sent, so at most one frame is ever in flight.

A frame goes out at most `FRAMES_PER_SECOND` times a second with at most
`MAX_ROWS_PER_FRAME` records. When the topic is faster, the records of that interval are
sampled evenly (reservoir sampling) and the frame says how many were skipped, so memory
stays at one frame's worth however fast the topic is. It must never keep a consumer
running once its last viewer has left, and never commit offsets or join a group.

Across several server processes each process runs its own tail for its own viewers; the
group name carries a per-process token so one process never receives another's frames,
and a per-tail token so a tail still stopping never reaches the viewers of the tail that
replaced it (a viewer who changes the filter leaves one and may start the next).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from console.kafka import metadata, offsets
from console.kafka.config import ClusterConfig
from console.kafka.errors import ClusterError
from console.kafka.model import Record
from console.kafka.records import BROWSE_GROUP, record_of

log = logging.getLogger(__name__)

FRAMES_PER_SECOND = 10
FRAME_INTERVAL = 1.0 / FRAMES_PER_SECOND
MAX_ROWS_PER_FRAME = 1000
# Viewers filter on the value; beyond this many bytes only the start is searched.
FILTER_BYTES = 64 * 1024
POLL_BATCH = 1000
SEND_TIMEOUT = 10.0
PROCESS_TOKEN = uuid.uuid4().hex[:8]

Render = Callable[[Record], str]
# Sends one message to every viewer of a group: (group name, message).
Publish = Callable[[str, dict[str, Any]], Coroutine[Any, Any, None]]


def group_name(cluster: str, topic: str, instance: str) -> str:
    """A channel-layer group name: ASCII, under 100 characters, whatever the topic is called."""
    digest = hashlib.sha1(f"{cluster}\0{topic}".encode()).hexdigest()[:20]
    return f"tail.{PROCESS_TOKEN}.{digest}.{instance}"


@dataclass
class TailStats:
    seen: int = 0  # records read from the cluster
    published: int = 0  # records sent to viewers
    skipped: int = 0  # records read but sampled out
    frames: int = 0


def frame_item(record: Record, html: str) -> list[Any]:
    """What a viewer needs of one record: enough to filter it, and its rendered row."""
    value = record.value[:FILTER_BYTES] if record.value is not None else None
    headers = [[name, v] for name, v in record.headers]
    return [
        record.partition,
        record.offset,
        record.timestamp,
        record.timestamp_type,
        record.key,
        value,
        headers,
        html,
    ]


def item_record(item: list[Any]) -> Record:
    p, o, ts, tt, key, value, headers, _ = item
    return Record(p, o, ts, tt, key, value, tuple((n, v) for n, v in headers))


@dataclass
class Tail:
    """One consumer reading the end of one topic for every viewer of it in this process."""

    config: ClusterConfig
    topic: str
    render: Render
    publish: Publish
    loop: asyncio.AbstractEventLoop
    viewers: int = 0
    error: str = ""
    stats: TailStats = field(default_factory=TailStats)
    # Offsets the tail started from, per partition: everything at or after them is live.
    start_offsets: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cluster = self.config.slug
        self.group = group_name(self.cluster, self.topic, uuid.uuid4().hex[:8])
        self._ready = asyncio.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"tail:{self.cluster}/{self.topic}", daemon=True
        )

    @property
    def key(self) -> tuple[str, str]:
        return (self.cluster, self.topic)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    async def wait_ready(self, within: float) -> bool:
        """True once the consumer sits at the end of every partition (or has failed)."""
        try:
            await asyncio.wait_for(self._ready.wait(), within)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.to_thread(self._thread.join, SEND_TIMEOUT + 5)

    # ---- the polling thread -----------------------------------------------------------

    def _set_ready(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self._ready.set)
        except RuntimeError:  # the loop has closed: nobody is left waiting for readiness
            pass

    def _send(self, message: dict[str, Any]) -> bool:
        sending = self.publish(self.group, message)
        try:
            future = asyncio.run_coroutine_threadsafe(sending, self.loop)
        except RuntimeError as exc:  # the viewers' loop has closed under us
            sending.close()
            return self._not_sent(exc)
        try:
            future.result(timeout=SEND_TIMEOUT)
        except Exception as exc:  # the loop cancelled it, it timed out, or the layer refused
            return self._not_sent(exc)
        return True

    def _not_sent(self, exc: Exception) -> bool:
        # A timeout or a cancellation has no message of its own: name the kind instead.
        why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        log.warning(
            "live tail %s/%s could not publish (%s); stopping", self.cluster, self.topic, why
        )
        return False

    def _fail(self, text: str) -> None:
        self.error = text
        self._set_ready()
        self._send({"type": "tail.status", "state": "error", "error": text})

    def _position(self, consumer: Consumer) -> bool:
        try:
            parts = metadata.partitions_of(self.config, self.topic)
            tps = [(self.topic, p) for p in parts]
            ends = offsets.lookup(self.config, tps, offsets.LATEST, what="log end")
        except ClusterError as exc:
            self._fail(str(exc))
            return False
        self.start_offsets = {p: ends[(self.topic, p)] for p in parts}
        consumer.assign([TopicPartition(self.topic, p, o) for p, o in self.start_offsets.items()])
        return True

    def _run(self) -> None:
        conf = {
            **self.config.client_config(),
            # librdkafka insists on a group id even for assign(); it is never joined.
            "group.id": BROWSE_GROUP,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": False,
            # Bound what librdkafka buffers ahead (its queue and each fetch response): a
            # topic faster than the tail then waits in the broker, not in our memory.
            "queued.max.messages.kbytes": 4096,
            "fetch.max.bytes": 4 * 1024 * 1024,
            "max.partition.fetch.bytes": 1024 * 1024,
            "fetch.wait.max.ms": 50,
        }
        try:
            consumer = Consumer(conf)
        except KafkaException as exc:
            self._fail(f"cannot create a consumer: {exc}")
            return
        try:
            if self._position(consumer):
                self._set_ready()
                self._poll(consumer)
        except Exception as exc:  # a broken tail must say so, not die silently
            log.exception("live tail %s/%s failed", self.cluster, self.topic)
            self._fail(f"the live tail stopped: {exc}")
        finally:
            consumer.close()

    def _poll(self, consumer: Consumer) -> None:
        sample: list[Message] = []
        seen = 0
        last = time.monotonic()
        while not self._stop.is_set():
            for msg in consumer.consume(POLL_BATCH, timeout=FRAME_INTERVAL / 2):
                err = msg.error()
                if err is not None:
                    if err.code() != KafkaError._PARTITION_EOF:
                        log.info("live tail %s: %s", self.topic, err.str())
                    continue
                seen += 1
                if len(sample) < MAX_ROWS_PER_FRAME:
                    sample.append(msg)
                else:
                    # Algorithm R: every record of the interval is kept with equal chance.
                    j = random.randrange(seen)
                    if j < MAX_ROWS_PER_FRAME:
                        sample[j] = msg
            now = time.monotonic()
            if seen and now - last >= FRAME_INTERVAL:
                if not self._publish(sample, seen):
                    return
                sample, seen, last = [], 0, now

    def _publish(self, sample: list[Message], seen: int) -> bool:
        records = sorted(
            (record_of(m) for m in sample),
            key=lambda r: (r.timestamp, r.partition, r.offset),
        )
        items = [frame_item(r, self.render(r)) for r in records]
        skipped = seen - len(items)
        self.stats.seen += seen
        self.stats.published += len(items)
        self.stats.skipped += skipped
        self.stats.frames += 1
        return self._send({"type": "tail.frame", "items": items, "seen": seen, "skipped": skipped})


# ---- the registry (event-loop side only, so no lock: nothing awaits between look and change)

_tails: dict[tuple[str, str], Tail] = {}


def active() -> dict[tuple[str, str], Tail]:
    """The running tails of this process, by (cluster, topic)."""
    return dict(_tails)


async def join(cluster: ClusterConfig, topic: str, render: Render, publish: Publish) -> Tail:
    """The tail of (cluster, topic), started if this is its first viewer."""
    tail = _tails.get((cluster.slug, topic))
    if tail is None or tail.error:
        tail = Tail(cluster, topic, render, publish, asyncio.get_running_loop())
        _tails[tail.key] = tail
        tail.start()
    tail.viewers += 1
    return tail


async def leave(tail: Tail) -> None:
    """One viewer fewer; the last one out stops the consumer and waits for its thread."""
    tail.viewers -= 1
    if tail.viewers > 0:
        return
    if _tails.get(tail.key) is tail:
        del _tails[tail.key]
    await tail.stop()


async def stop_all() -> None:
    """Stop every tail of this process, whoever still watches. Viewers leave through
    `leave`; this is for a test that failed before its viewers could (the tail threads
    are daemons, so a process that exits needs no call)."""
    running = list(_tails.values())
    _tails.clear()
    for tail in running:
        tail.viewers = 0
        await tail.stop()
