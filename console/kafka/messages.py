"""Reading and writing a topic's records for the message browser and the produce form.

Owns what a record is to the console (`Record`), the browser's query (`Query`: where to
start, which partitions, filters, paging cursor, byte and time budgets), the read itself
(`browse`), record filters (text and JSON path) and `produce`. Every function takes a
plain confluent-kafka config dict, so it works against any cluster.

It must never wait without a bound: a read stops at its byte and time budgets and says
so in `Page.stopped`, because "no messages" must only ever mean there were none. It never
joins a consumer group or commits offsets: browsing leaves no trace on the cluster.
"""

from __future__ import annotations

import heapq
import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

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

from console import decoders

START_MODES = ("newest", "oldest", "offset", "timestamp", "ago")
TEXT_SCOPES = ("any", "key", "value", "headers")
JSON_OPS = ("eq", "contains")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
DEFAULT_BYTE_BUDGET = 32 * 1024 * 1024
DEFAULT_TIME_BUDGET = 8.0
# Records fetched per consume() call: big enough to amortise the call, small enough that
# one call never overshoots a budget by much.
CONSUME_BATCH = 500


class MessagesError(Exception):
    """A readable reason a read or a produce could not be done (shown to the person)."""


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    timestamp: int  # ms since the epoch; -1 when the record carries none
    timestamp_type: str  # "CreateTime", "LogAppendTime" or ""
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()

    @property
    def size(self) -> int:
        """Bytes of key, value and headers: what the record costs on the wire, roughly."""
        heads = sum(len(k) + len(v or b"") for k, v in self.headers)
        return len(self.key or b"") + len(self.value or b"") + heads

    @classmethod
    def from_message(cls, msg: Message) -> Record:
        ts_type, ts = msg.timestamp()
        raw_headers: Any = msg.headers() or ()  # a list of (name, bytes) pairs at runtime
        kind = {TIMESTAMP_CREATE_TIME: "CreateTime", TIMESTAMP_LOG_APPEND_TIME: "LogAppendTime"}
        return cls(
            partition=msg.partition() or 0,
            offset=msg.offset() or 0,
            timestamp=ts if ts_type in kind else -1,
            timestamp_type=kind.get(ts_type, ""),
            key=msg.key(),
            value=msg.value(),
            headers=tuple((name, _bytes(v)) for name, v in raw_headers),
        )


def _bytes(value: str | bytes | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


# ---------------------------------------------------------------------------------------
# Filters


_PATH_TOKEN = re.compile(r"""\.?([^.\[\]]+)|\[(\d+)\]|\[["']([^"']*)["']\]""")


def parse_json_path(path: str) -> list[str | int]:
    """`$.order.items[0].sku`, `order.items.0.sku` or `$["a b"]` -> ["order", "items", 0, "sku"].

    Raises ValueError with a readable message for anything else.
    """
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    if not text:
        raise ValueError("the JSON path is empty; try something like $.customer.id")
    parts: list[str | int] = []
    pos = 0
    while pos < len(text):
        match = _PATH_TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ValueError(f"cannot read the JSON path {path!r} at {text[pos:]!r}")
        name, index, quoted = match.groups()
        if index is not None:
            parts.append(int(index))
        elif quoted is not None:
            parts.append(quoted)
        else:
            parts.append(int(name) if name.isdigit() else name)
        pos = match.end()
    return parts


_MISSING = object()


def lookup(data: Any, path: Sequence[str | int]) -> Any:
    """The value at `path` in a JSON document, or `_MISSING`."""
    node = data
    for part in path:
        if isinstance(node, dict):
            key = str(part)
            if key not in node:
                return _MISSING
            node = node[key]
        elif isinstance(node, list) and isinstance(part, int):
            if not -len(node) <= part < len(node):
                return _MISSING
            node = node[part]
        else:
            return _MISSING
    return node


def _target(text: str) -> Any:
    # `42` should match the number 42 and `true` the boolean; anything else is a string.
    try:
        return json.loads(text)
    except ValueError:
        return text


@dataclass(frozen=True)
class RecordFilter:
    """Text in key/value/headers and/or a JSON path that equals or contains a value."""

    text: str = ""
    text_in: str = "any"
    json_path: str = ""
    json_op: str = "eq"
    json_value: str = ""
    _path: tuple[str | int, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.text_in not in TEXT_SCOPES:
            raise ValueError(f"search in one of {', '.join(TEXT_SCOPES)}, not {self.text_in!r}")
        if self.json_op not in JSON_OPS:
            raise ValueError(f"JSON comparison is one of {', '.join(JSON_OPS)}")
        if self.json_path:
            object.__setattr__(self, "_path", tuple(parse_json_path(self.json_path)))

    @property
    def active(self) -> bool:
        return bool(self.text or self.json_path)

    def matches(self, record: Record) -> bool:
        if self.text and not self._text_matches(record):
            return False
        return not self.json_path or self._json_matches(record.value)

    def _text_matches(self, record: Record) -> bool:
        needle = self.text.casefold()
        haystacks: list[bytes | None] = []
        if self.text_in in ("any", "key"):
            haystacks.append(record.key)
        if self.text_in in ("any", "value"):
            haystacks.append(record.value)
        if self.text_in in ("any", "headers"):
            for name, value in record.headers:
                haystacks += [name.encode(), value]
        for raw in haystacks:
            if raw is not None and needle in raw.decode("utf-8", "replace").casefold():
                return True
        return False

    def _json_matches(self, raw: bytes | None) -> bool:
        if raw is None:
            return False
        try:
            data = json.loads(raw)
        except ValueError:
            return False
        found = lookup(data, self._path)
        if found is _MISSING:
            return False
        target = _target(self.json_value)
        if self.json_op == "eq":
            return bool(found == target or (isinstance(found, str) and found == self.json_value))
        if isinstance(found, str):
            return self.json_value.casefold() in found.casefold()
        if isinstance(found, list):
            return target in found or self.json_value in found
        if isinstance(found, dict):
            return self.json_value in found
        return self.json_value in json.dumps(found)


# ---------------------------------------------------------------------------------------
# Queries and pages


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", re.IGNORECASE)
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_duration(text: str) -> int:
    """`90s`, `15m`, `2h`, `1d 6h`, `1w` -> milliseconds. ValueError with a hint otherwise."""
    cleaned = text.strip().replace(",", " ")
    if not cleaned:
        raise ValueError("give a duration such as 15m, 2h or 3d")
    total, pos = 0.0, 0
    for match in _DURATION.finditer(cleaned):
        if cleaned[pos : match.start()].strip():
            break
        total += float(match.group(1)) * _UNIT_MS[match.group(2).lower()]
        pos = match.end()
    if pos == 0 or cleaned[pos:].strip():
        raise ValueError(f"cannot read the duration {text!r}; use e.g. 15m, 2h, 3d or 1d 6h")
    return int(total)


@dataclass(frozen=True)
class Query:
    """What the browser asks for. `cursor` (partition -> offset) overrides `start` when paging.

    Forward reads start at the cursor offsets; backward reads end just before them.
    """

    topic: str
    partitions: tuple[int, ...] = ()  # empty = every partition
    start: str = "newest"
    start_value: str = ""
    limit: int = DEFAULT_LIMIT
    filter: RecordFilter = field(default_factory=RecordFilter)
    cursor: dict[int, int] | None = None
    backward: bool = False
    byte_budget: int = DEFAULT_BYTE_BUDGET
    time_budget: float = DEFAULT_TIME_BUDGET

    def __post_init__(self) -> None:
        if self.start not in START_MODES:
            raise ValueError(f"start at one of {', '.join(START_MODES)}, not {self.start!r}")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ValueError(f"show between 1 and {MAX_LIMIT} records per page")


@dataclass
class Page:
    """One page of records, oldest first, with the cursors to page on and what stopped the read."""

    records: list[Record]
    partitions: list[int]
    watermarks: dict[int, tuple[int, int]]
    next_cursor: dict[int, int]
    prev_cursor: dict[int, int]
    scanned: int = 0
    bytes_read: int = 0
    # "" when the read finished; otherwise why it stopped early ("bytes" or "time").
    stopped: str = ""
    has_newer: bool = False
    has_older: bool = False

    @property
    def total_in_range(self) -> int:
        return sum(high - low for low, high in self.watermarks.values())


class _Budget:
    def __init__(self, max_bytes: int, seconds: float, clock: Callable[[], float]) -> None:
        self.max_bytes = max_bytes
        self.deadline = clock() + seconds
        self.clock = clock
        self.bytes = 0
        self.scanned = 0
        self.stopped = ""

    def remaining(self) -> float:
        return self.deadline - self.clock()

    def exhausted(self) -> bool:
        if self.stopped:
            return True
        if self.bytes >= self.max_bytes:
            self.stopped = "bytes"
        elif self.remaining() <= 0:
            self.stopped = "time"
        return bool(self.stopped)

    def take(self, record: Record) -> None:
        self.bytes += record.size
        self.scanned += 1


def consumer_config(conf: dict[str, Any]) -> dict[str, Any]:
    """A read-only consumer config: never commits, never joins a group, quiet logs."""
    return {
        **conf,
        # librdkafka insists on a group id even for assign(); it is never joined.
        "group.id": "odradek-console-browser",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": True,
        "fetch.wait.max.ms": 100,
        "queued.max.messages.kbytes": 16384,
        "log_level": 0,
    }


def _error_text(exc: KafkaException) -> str:
    err = exc.args[0] if exc.args else exc
    return err.str() if isinstance(err, KafkaError) else str(err)


def list_topics(conf: dict[str, Any], timeout: float = 5.0) -> list[str]:
    """Names of the cluster's topics, internal ones (leading underscore) last."""
    try:
        consumer = Consumer(consumer_config(conf))
    except KafkaException as exc:
        raise MessagesError(f"cannot create a consumer: {_error_text(exc)}") from exc
    try:
        metadata = consumer.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise MessagesError(f"the cluster did not answer: {_error_text(exc)}") from exc
    finally:
        consumer.close()
    return sorted(metadata.topics, key=lambda name: (name.startswith("_"), name))


def _partitions(
    consumer: Consumer, topic: str, wanted: tuple[int, ...], timeout: float
) -> list[int]:
    try:
        metadata = consumer.list_topics(topic, timeout=timeout)
    except KafkaException as exc:
        raise MessagesError(f"the cluster did not answer: {_error_text(exc)}") from exc
    info = metadata.topics.get(topic)
    if info is None or info.error is not None or not info.partitions:
        raise MessagesError(f"topic {topic!r} does not exist on this cluster")
    existing = sorted(info.partitions)
    if not wanted:
        return existing
    missing = sorted(set(wanted) - set(existing))
    if missing:
        raise MessagesError(
            f"topic {topic!r} has partitions {existing[0]}–{existing[-1]}; "
            f"there is no partition {', '.join(map(str, missing))}"
        )
    return sorted(set(wanted))


def _watermarks(
    consumer: Consumer, topic: str, partitions: Iterable[int], timeout: float
) -> dict[int, tuple[int, int]]:
    marks = {}
    for p in partitions:
        try:
            marks[p] = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
        except KafkaException as exc:
            raise MessagesError(
                f"could not read offsets of partition {p}: {_error_text(exc)}"
            ) from exc
    return marks


def _start_offsets(
    consumer: Consumer,
    query: Query,
    marks: dict[int, tuple[int, int]],
    now_ms: int,
    timeout: float,
) -> dict[int, int]:
    if query.start == "oldest":
        return {p: low for p, (low, _) in marks.items()}
    if query.start == "newest":
        return {p: high for p, (_, high) in marks.items()}
    if query.start == "offset":
        try:
            wanted = int(query.start_value)
        except ValueError:
            raise MessagesError(f"an offset is a whole number, not {query.start_value!r}") from None
        return {p: min(max(wanted, low), high) for p, (low, high) in marks.items()}
    if query.start == "timestamp":
        ts = parse_timestamp(query.start_value)
    else:
        try:
            ts = now_ms - parse_duration(query.start_value)
        except ValueError as exc:
            raise MessagesError(str(exc)) from None
    asked = [TopicPartition(query.topic, p, ts) for p in marks]
    try:
        found = consumer.offsets_for_times(asked, timeout=timeout)
    except KafkaException as exc:
        raise MessagesError(f"could not look up offsets by time: {_error_text(exc)}") from exc
    # -1: nothing at or after that time, so the read starts at the end.
    return {tp.partition: tp.offset if tp.offset >= 0 else marks[tp.partition][1] for tp in found}


def parse_timestamp(text: str) -> int:
    """Milliseconds since the epoch, or an ISO 8601 date/time (UTC unless it says otherwise)."""
    from datetime import UTC, datetime

    cleaned = text.strip()
    if cleaned.isdigit():
        return int(cleaned)
    try:
        moment = datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
    except ValueError:
        raise MessagesError(
            f"cannot read the time {text!r}; use 2024-05-01T12:00 (UTC) or epoch milliseconds"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _read_range(
    consumer: Consumer,
    topic: str,
    partition: int,
    start: int,
    stop: int,
    flt: RecordFilter,
    want: int,
    budget: _Budget,
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
                raise MessagesError(f"reading partition {partition} failed: {err.str()}")
            offset = msg.offset() or 0
            if offset >= stop:
                return matches, stop, True
            record = Record.from_message(msg)
            budget.take(record)
            position = offset + 1
            if flt.matches(record):
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
    flt: RecordFilter,
    want: int,
    budget: _Budget,
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
            consumer, topic, partition, begin, end, flt, end - begin, budget
        )
        if not finished:
            break
        matches = found + matches
        end = begin
        chunk = min(chunk * 2, 100_000)
    return matches, end


def _merge_forward(
    found: dict[int, list[Record]], limit: int
) -> tuple[list[Record], dict[int, int]]:
    """The `limit` earliest records by time, each partition contributing a prefix."""
    heap = [(recs[0].timestamp, p, 0) for p, recs in found.items() if recs]
    heapq.heapify(heap)
    shown: list[Record] = []
    taken = dict.fromkeys(found, 0)
    while heap and len(shown) < limit:
        _, p, i = heapq.heappop(heap)
        shown.append(found[p][i])
        taken[p] = i + 1
        if i + 1 < len(found[p]):
            heapq.heappush(heap, (found[p][i + 1].timestamp, p, i + 1))
    return shown, taken


def _merge_backward(
    found: dict[int, list[Record]], limit: int
) -> tuple[list[Record], dict[int, int]]:
    """The `limit` latest records by time, each partition contributing a suffix; oldest first."""
    heap = [(-recs[-1].timestamp, -p, len(recs) - 1) for p, recs in found.items() if recs]
    heapq.heapify(heap)
    shown: list[Record] = []
    taken = dict.fromkeys(found, 0)
    while heap and len(shown) < limit:
        _, neg_p, i = heapq.heappop(heap)
        p = -neg_p
        shown.append(found[p][i])
        taken[p] += 1
        if i > 0:
            heapq.heappush(heap, (-found[p][i - 1].timestamp, neg_p, i - 1))
    shown.reverse()
    return shown, taken


def browse(
    conf: dict[str, Any],
    query: Query,
    *,
    clock: Callable[[], float] = time.monotonic,
    now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    timeout: float = 5.0,
) -> Page:
    """Read one page of `query.topic`. Raises MessagesError with a readable reason."""
    budget = _Budget(query.byte_budget, query.time_budget, clock)
    try:
        consumer = Consumer(consumer_config(conf))
    except KafkaException as exc:
        raise MessagesError(f"cannot create a consumer: {_error_text(exc)}") from exc
    try:
        partitions = _partitions(consumer, query.topic, query.partitions, timeout)
        marks = _watermarks(consumer, query.topic, partitions, timeout)
        if query.cursor is not None:
            bounds = {p: query.cursor.get(p, marks[p][1]) for p in partitions}
            backward = query.backward
        else:
            bounds = _start_offsets(consumer, query, marks, now_ms(), timeout)
            backward = query.start == "newest"
        bounds = {p: min(max(o, marks[p][0]), marks[p][1]) for p, o in bounds.items()}
        return _read(consumer, query, partitions, marks, bounds, backward, budget)
    finally:
        consumer.close()


def _read(
    consumer: Consumer,
    query: Query,
    partitions: list[int],
    marks: dict[int, tuple[int, int]],
    bounds: dict[int, int],
    backward: bool,
    budget: _Budget,
) -> Page:
    found: dict[int, list[Record]] = {}
    reached: dict[int, int] = {}
    for p in partitions:
        low, high = marks[p]
        if backward:
            found[p], reached[p] = _read_back(
                consumer, query.topic, p, low, bounds[p], query.filter, query.limit, budget
            )
        else:
            found[p], reached[p], _ = _read_range(
                consumer, query.topic, p, bounds[p], high, query.filter, query.limit, budget
            )
    if backward:
        shown, taken = _merge_backward(found, query.limit)
        next_cursor = {p: (found[p][-1].offset + 1 if taken[p] else bounds[p]) for p in partitions}
        prev_cursor = {}
        for p in partitions:
            recs, k = found[p], taken[p]
            if k == len(recs):
                prev_cursor[p] = reached[p]
            else:
                prev_cursor[p] = recs[len(recs) - k].offset if k else recs[-1].offset + 1
    else:
        shown, taken = _merge_forward(found, query.limit)
        prev_cursor = {p: (found[p][0].offset if taken[p] else bounds[p]) for p in partitions}
        next_cursor = {}
        for p in partitions:
            recs, k = found[p], taken[p]
            next_cursor[p] = reached[p] if k == len(recs) else recs[k].offset
    return Page(
        records=shown,
        partitions=partitions,
        watermarks=marks,
        next_cursor=next_cursor,
        prev_cursor=prev_cursor,
        scanned=budget.scanned,
        bytes_read=budget.bytes,
        stopped=budget.stopped,
        has_newer=any(next_cursor[p] < marks[p][1] for p in partitions),
        has_older=any(prev_cursor[p] > marks[p][0] for p in partitions),
    )


# ---------------------------------------------------------------------------------------
# Produce


@dataclass(frozen=True)
class Produced:
    partition: int
    offset: int
    timestamp: int


def parse_headers(text: str) -> list[tuple[str, bytes]]:
    """One header a line, `name: value` (or `name=value`). ValueError names the bad line."""
    headers = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        sep = min((i for i in (line.find(":"), line.find("=")) if i > 0), default=-1)
        if sep <= 0:
            raise ValueError(f"header line {number} ({line!r}) needs the form name: value")
        headers.append((line[:sep].strip(), line[sep + 1 :].strip().encode()))
    return headers


def encode_value(text: str, fmt: str) -> bytes:
    """The bytes to send for `text` written as "text" or "json" (validated, sent compact)."""
    if fmt == "json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"the value is not valid JSON: {exc}") from None
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    if fmt == "text":
        return text.encode()
    raise ValueError(f"value format is text or json, not {fmt!r}")


def produce(
    conf: dict[str, Any],
    topic: str,
    value: bytes | None,
    *,
    key: bytes | None = None,
    headers: Sequence[tuple[str, bytes]] = (),
    partition: int | None = None,
    timeout: float = 10.0,
) -> Produced:
    """Write one record with acks=all and wait for its offset. MessagesError on failure."""
    producer = Producer(
        {
            **conf,
            "acks": "all",
            "message.timeout.ms": int(timeout * 1000),
            "allow.auto.create.topics": False,
            "log_level": 0,
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
        raise MessagesError(f"could not send: {exc}") from exc
    producer.flush(timeout)
    if "msg" not in outcome:
        raise MessagesError(f"no answer from the cluster within {timeout:g} s")
    err, msg = outcome["err"], outcome["msg"]
    if err is not None:
        raise MessagesError(f"the cluster refused the record: {err.str()}")
    _, ts = msg.timestamp()
    return Produced(partition=msg.partition(), offset=msg.offset(), timestamp=ts)


def decoded(
    record: Record, key_mode: str, value_mode: str
) -> tuple[decoders.Decoded, decoders.Decoded]:
    """The key and value of `record` through the chosen decoders (auto by default)."""
    return decoders.decode(record.key, key_mode), decoders.decode(record.value, value_mode)
