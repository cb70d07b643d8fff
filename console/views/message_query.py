"""The message browser's query string: parameters to a `console.browse.Query` and back.

Owns reading the browser's parameters (start, partitions, filters, cursors, page size,
decoders), the paging links that keep them, and the sentence saying why a read stopped
early, so every view of the browser is a shareable link. It must never read a cluster.
"""

from __future__ import annotations

from django.http import QueryDict

from console import browse as browsing
from console import decoders


def parse_cursor(text: str) -> dict[int, int]:
    """`0:120,1:98` -> {0: 120, 1: 98}."""
    cursor = {}
    for part in text.split(","):
        if not part.strip():
            continue
        p, _, offset = part.partition(":")
        cursor[int(p)] = int(offset)
    return cursor


def format_cursor(cursor: dict[int, int]) -> str:
    return ",".join(f"{p}:{o}" for p, o in sorted(cursor.items()))


def parse_partitions(params: QueryDict) -> tuple[int, ...]:
    values = [v for raw in params.getlist("p") for v in raw.split(",") if v.strip()]
    return tuple(sorted({int(v) for v in values}))


def filter_from(params: QueryDict) -> browsing.RecordFilter:
    return browsing.RecordFilter(
        text=params.get("q", "").strip(),
        text_in=params.get("q_in", "any") or "any",
        json_path=params.get("jpath", "").strip(),
        json_op=params.get("jop", "eq") or "eq",
        json_value=params.get("jval", ""),
    )


def query_from(
    topic: str, params: QueryDict, default_limit: int = browsing.DEFAULT_LIMIT
) -> browsing.Query:
    """A Query from URL parameters; ValueError with a readable message when one is wrong."""
    try:
        partitions = parse_partitions(params)
    except ValueError:
        raise ValueError("partitions are whole numbers, like 0,1,2") from None
    try:
        limit = int(params.get("limit") or default_limit)
    except ValueError:
        raise ValueError("the page size is a whole number") from None
    cursor = None
    if params.get("cursor"):
        try:
            cursor = parse_cursor(params.get("cursor", ""))
        except ValueError:
            raise ValueError("that paging link is damaged; start again from newest") from None
    return browsing.Query(
        topic=topic,
        partitions=partitions,
        start=params.get("start", "newest") or "newest",
        start_value=params.get("at", "").strip(),
        limit=limit,
        filter=filter_from(params),
        cursor=cursor,
        backward=params.get("dir") == "back",
    )


def decoder_mode(params: QueryDict, name: str) -> str:
    mode = params.get(name, decoders.AUTO) or decoders.AUTO
    return mode if mode == decoders.AUTO or mode in decoders.DECODERS else decoders.AUTO


def link(params: QueryDict, **changes: str | None) -> str:
    q = params.copy()
    for name, value in changes.items():
        if value is None:
            q.pop(name, None)
        else:
            q[name] = value
    return "?" + q.urlencode()


def stopped_sentence(page: browsing.Page, query: browsing.Query) -> str:
    if page.stopped == "bytes":
        limit = f"{query.byte_budget / 1_000_000:.0f} MB"
        reason = f"it had read {limit}, the most one page may read"
    elif page.stopped == "time":
        reason = f"it had taken {query.time_budget:g} s, the longest one page may take"
    else:
        return ""
    return (
        f"The search stopped after {page.scanned:,} records because {reason}. "
        "More records may match further on: use the paging links to continue from here."
    )
