"""The message browser's logic: what a query asks, how records are filtered, merged
across partitions and paged, and what the produce form's fields mean.

Owns `Query` (start position, partitions, filters, paging cursor, byte and time budgets),
`RecordFilter` (text and JSON path), `Budget`, `Page` and the paging arithmetic that turns
what each partition returned into one page with cursors both ways. It must never touch a
cluster: `console.message_pages.browse` does the reading and calls back into this.
"""

from __future__ import annotations

import heapq
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from console import decoders
from console.kafka.model import Record

START_MODES = ("newest", "oldest", "offset", "timestamp", "ago")
# The browser's start modes in the shared position grammar (`console.positions`).
POSITION_MODE = {
    "newest": "latest",
    "oldest": "earliest",
    "offset": "offset",
    "timestamp": "timestamp",
    "ago": "duration",
}
TEXT_SCOPES = ("any", "key", "value", "headers")
JSON_OPS = ("eq", "contains")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
DEFAULT_BYTE_BUDGET = 32 * 1024 * 1024
DEFAULT_TIME_BUDGET = 8.0


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


class Budget:
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


def merge_forward(
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


def merge_backward(
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


def paged(
    query: Query,
    partitions: list[int],
    marks: dict[int, tuple[int, int]],
    bounds: dict[int, int],
    backward: bool,
    found: dict[int, list[Record]],
    reached: dict[int, int],
    budget: Budget,
) -> Page:
    """One page from what each partition returned, with the cursors to page on."""
    if backward:
        shown, taken = merge_backward(found, query.limit)
        next_cursor = {p: (found[p][-1].offset + 1 if taken[p] else bounds[p]) for p in partitions}
        prev_cursor = {}
        for p in partitions:
            recs, k = found[p], taken[p]
            if k == len(recs):
                prev_cursor[p] = reached[p]
            else:
                prev_cursor[p] = recs[len(recs) - k].offset if k else recs[-1].offset + 1
    else:
        shown, taken = merge_forward(found, query.limit)
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
# Produce form


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


def decoded(
    record: Record, key_mode: str, value_mode: str
) -> tuple[decoders.Decoded, decoders.Decoded]:
    """The key and value of `record` through the chosen decoders (auto by default)."""
    return decoders.decode(record.key, key_mode), decoders.decode(record.value, value_mode)
