"""The message browser, export, one record's value, produce, and the live-tail pages.

Owns turning query parameters into a `console.browse.Query` (so every view is a shareable
link) and the results into pages, fragments (htmx), JSON Lines or CSV. It must never talk
to a cluster except through `console.kafka`, never change data without asking
`console.permissions` first and writing `console.audit` after, and never show a stack
trace: every bad input or cluster failure becomes a sentence on the page.
"""

from __future__ import annotations

import csv
import html
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from console import audit, decoders, permissions
from console import browse as browsing
from console.clusters import ClusterConfig, ClusterNotFound, get_cluster
from console.kafka import metadata, records
from console.kafka.errors import ClusterError, NotFound
from console.views.clusters import is_htmx

# Characters of a value shown before "show all"; the rest is one click away.
PREVIEW_CHARS = 2000
# A collapsed row shows this much of the value, on one line.
SUMMARY_CHARS = 120
# The live tail shows less: a row is one line on screen.
TAIL_PREVIEW_CHARS = 300
EXPORT_MAX = browsing.MAX_LIMIT


def _cluster(slug: str) -> ClusterConfig:
    try:
        return get_cluster(slug)
    except ClusterNotFound:
        raise Http404(f"There is no cluster called {slug!r}.") from None


# --------------------------------------------------------------------------- parameters


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


def _decoder_mode(params: QueryDict, name: str) -> str:
    mode = params.get(name, decoders.AUTO) or decoders.AUTO
    return mode if mode == decoders.AUTO or mode in decoders.DECODERS else decoders.AUTO


# --------------------------------------------------------------------------- presentation


@dataclass
class Shown:
    """A record ready for a template: decoded, previewed, with its links."""

    record: browsing.Record
    key: decoders.Decoded
    value: decoders.Decoded
    preview: str
    truncated: bool
    headers: list[tuple[str, str]]
    raw_url: str
    full_url: str

    @property
    def summary(self) -> str:
        """The value on one line: what a collapsed row shows."""
        if self.value.kind == "json":
            line = json.dumps(self.value.data, ensure_ascii=False)
        else:
            line = " ".join(self.preview.split())
        return line if len(line) <= SUMMARY_CHARS else line[: SUMMARY_CHARS - 1] + "…"

    @property
    def one_line(self) -> bool:
        """Short enough to show whole in the row: nothing to expand."""
        return (
            self.value.kind != "json"
            and "\n" not in self.preview
            and len(self.preview) <= SUMMARY_CHARS
        )


def _header_text(value: bytes | None) -> str:
    if value is None:
        return ""
    return decoders.decode(value, decoders.AUTO).text


def present(
    record: browsing.Record, cluster: str, topic: str, key_mode: str, value_mode: str
) -> Shown:
    key, value = browsing.decoded(record, key_mode, value_mode)
    loc = {
        "cluster": cluster,
        "topic": topic,
        "partition": record.partition,
        "offset": record.offset,
    }
    full_url = reverse("topics_record_value", kwargs=loc) + "?" + urlencode({"as": value_mode})
    return Shown(
        record=record,
        key=key,
        value=value,
        preview=value.text[:PREVIEW_CHARS],
        truncated=len(value.text) > PREVIEW_CHARS,
        headers=[(name, _header_text(v)) for name, v in record.headers],
        raw_url=reverse("topics_record_raw", kwargs=loc),
        full_url=full_url,
    )


def _link(params: QueryDict, **changes: str | None) -> str:
    q = params.copy()
    for name, value in changes.items():
        if value is None:
            q.pop(name, None)
        else:
            q[name] = value
    return "?" + q.urlencode()


def _stopped_sentence(page: browsing.Page, query: browsing.Query) -> str:
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


# --------------------------------------------------------------------------- browser


@require_GET
def browse(request: HttpRequest, cluster: str, topic: str) -> HttpResponse:
    config = _cluster(cluster)
    params = request.GET
    key_mode, value_mode = _decoder_mode(params, "key_as"), _decoder_mode(params, "value_as")
    context: dict[str, Any] = {
        "cluster": config,
        "topic": topic,
        "params": params,
        "start_modes": browsing.START_MODES,
        "text_scopes": browsing.TEXT_SCOPES,
        "decoder_choices": decoders.choices(),
        "key_mode": key_mode,
        "value_mode": value_mode,
        "error": "",
        "page": None,
    }
    try:
        query = query_from(topic, params)
        page = records.browse(config, query)
    except (ValueError, ClusterError) as exc:
        context["error"] = str(exc)
    else:
        context.update(
            page=page,
            shown=[present(r, cluster, topic, key_mode, value_mode) for r in page.records],
            stopped=_stopped_sentence(page, query),
            filtered=query.filter.active,
            newer_link=_link(params, cursor=format_cursor(page.next_cursor), dir=None),
            older_link=_link(params, cursor=format_cursor(page.prev_cursor), dir="back"),
            # The same parameters give the same page, so export asks for exactly this view.
            export_query=params.urlencode(),
        )
    template = (
        "console/messages/_results.html" if is_htmx(request) else "console/messages/browse.html"
    )
    return render(request, template, context, status=200)


@require_GET
def export(
    request: HttpRequest, cluster: str, topic: str, fmt: str
) -> HttpResponse | StreamingHttpResponse:
    """The current result as JSON Lines or CSV: the same query as the page, as a file."""
    config = _cluster(cluster)
    if fmt not in ("jsonl", "csv"):
        raise Http404("Export as .jsonl or .csv.")
    value_mode = _decoder_mode(request.GET, "value_as")
    key_mode = _decoder_mode(request.GET, "key_as")
    try:
        query = query_from(topic, request.GET)
        page = records.browse(config, query)
    except (ValueError, ClusterError) as exc:
        return HttpResponse(f"Export failed: {exc}\n", status=400, content_type="text/plain")
    rows = [_export_row(r, key_mode, value_mode) for r in page.records]
    name = f"{topic}.{'jsonl' if fmt == 'jsonl' else 'csv'}"
    if fmt == "jsonl":
        body: Iterator[str] = (json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        response = StreamingHttpResponse(body, content_type="application/x-ndjson")
    else:
        response = StreamingHttpResponse(_csv_lines(rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    if page.stopped:
        response["X-Odradek-Stopped"] = page.stopped
    return response


EXPORT_COLUMNS = (
    "partition",
    "offset",
    "timestamp",
    "timestamp_type",
    "key",
    "key_format",
    "value",
    "value_format",
    "headers",
    "size",
)


def _export_row(record: browsing.Record, key_mode: str, value_mode: str) -> dict[str, Any]:
    key, value = browsing.decoded(record, key_mode, value_mode)
    return {
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": record.timestamp,
        "timestamp_type": record.timestamp_type,
        "key": None if key.is_null else (key.data if key.kind == "json" else key.text),
        "key_format": key.kind,
        "value": None if value.is_null else (value.data if value.kind == "json" else value.text),
        "value_format": value.kind,
        "headers": {name: _header_text(v) for name, v in record.headers},
        "size": record.size,
    }


def _csv_lines(rows: list[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        cells = []
        for column in EXPORT_COLUMNS:
            cell = row[column]
            if column in ("headers",) or (isinstance(cell, dict | list)):
                cell = json.dumps(cell, ensure_ascii=False, separators=(",", ":"))
            cells.append("" if cell is None else cell)
        writer.writerow(cells)
    yield buffer.getvalue()


def _one_record(config: ClusterConfig, topic: str, partition: int, offset: int) -> browsing.Record:
    query = browsing.Query(
        topic=topic, partitions=(partition,), start="offset", start_value=str(offset), limit=1
    )
    page = records.browse(config, query)
    if not page.records or page.records[0].offset != offset:
        raise NotFound(f"there is no record at offset {offset} of partition {partition} (any more)")
    return page.records[0]


@require_GET
def record_raw(
    request: HttpRequest, cluster: str, topic: str, partition: int, offset: int
) -> HttpResponse:
    """One record's value exactly as stored, as a download."""
    config = _cluster(cluster)
    try:
        record = _one_record(config, topic, partition, offset)
    except ClusterError as exc:
        return HttpResponse(f"{exc}\n", status=404, content_type="text/plain")
    response = HttpResponse(record.value or b"", content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{topic}-{partition}-{offset}.bin"'
    return response


@require_GET
def record_value(
    request: HttpRequest, cluster: str, topic: str, partition: int, offset: int
) -> HttpResponse:
    """The whole decoded value of one record (the "show all" of a truncated one)."""
    config = _cluster(cluster)
    mode = _decoder_mode(request.GET, "as")
    try:
        record = _one_record(config, topic, partition, offset)
    except ClusterError as exc:
        return HttpResponse(f'<p class="error">{html.escape(str(exc))}</p>', status=404)
    value = decoders.decode(record.value, mode)
    return render(request, "console/messages/_value_full.html", {"value": value})


# --------------------------------------------------------------------------- produce


@require_http_methods(["GET", "POST"])
def produce(request: HttpRequest, cluster: str, topic: str) -> HttpResponse:
    config = _cluster(cluster)
    allowed = permissions.can_change_topic(request.user, cluster, topic)
    context: dict[str, Any] = {
        "cluster": config,
        "topic": topic,
        "allowed": allowed,
        "form": request.POST if request.method == "POST" else {"value_format": "text"},
        "errors": [],
        "produced": None,
    }
    template = (
        "console/messages/_produce_form.html"
        if is_htmx(request)
        else "console/messages/produce.html"
    )
    if request.method == "GET":
        return render(request, template, context)
    if not allowed:
        return HttpResponseForbidden(
            "Only admins and members of the team that owns this topic may write to it."
        )
    # htmx swaps only 2xx answers, so the form with its errors comes back as 200 to htmx.
    refused = 200 if is_htmx(request) else 400
    errors, fields = _produce_fields(request.POST)
    if errors:
        context["errors"] = errors
        return render(request, template, context, status=refused)
    try:
        produced = records.produce(config, topic, **fields)
    except ClusterError as exc:
        context["errors"] = [str(exc)]
        return render(request, template, context, status=200 if is_htmx(request) else 502)
    audit.record(
        request.user,
        "message.produce",
        cluster,
        topic,
        after={
            "partition": produced.partition,
            "offset": produced.offset,
            "key": (fields["key"] or b"").decode("utf-8", "replace"),
            "headers": [name for name, _ in fields["headers"]],
            "size": len(fields["value"] or b""),
        },
        detail=f"produced one record to partition {produced.partition} at offset {produced.offset}",
    )
    context["produced"] = produced
    context["produced_link"] = (
        reverse("topics_messages", kwargs={"cluster": cluster, "topic": topic})
        + "?"
        + urlencode({"p": str(produced.partition), "start": "offset", "at": str(produced.offset)})
    )
    context["form"] = {"value_format": request.POST.get("value_format", "text")}
    return render(request, template, context)


def _produce_fields(post: QueryDict) -> tuple[list[str], dict[str, Any]]:
    errors: list[str] = []
    fields: dict[str, Any] = {"partition": None, "headers": [], "key": None, "value": None}
    partition = post.get("partition", "").strip()
    if partition:
        try:
            fields["partition"] = int(partition)
            if fields["partition"] < 0:
                raise ValueError
        except ValueError:
            errors.append("The partition is a whole number from 0, or empty to choose by key.")
    key = post.get("key", "")
    fields["key"] = key.encode() if key else None
    try:
        fields["headers"] = browsing.parse_headers(post.get("headers", ""))
    except ValueError as exc:
        errors.append(f"Headers: {exc}.")
    if post.get("null_value"):
        fields["value"] = None
    else:
        try:
            fields["value"] = browsing.encode_value(
                post.get("value", ""), post.get("value_format", "text")
            )
        except ValueError as exc:
            errors.append(f"Value: {exc}.")
    return errors, fields


# --------------------------------------------------------------------------- live tail


@require_GET
def tail(request: HttpRequest, cluster: str, topic: str) -> HttpResponse:
    config = _cluster(cluster)
    return render(
        request,
        "console/messages/tail.html",
        {
            "cluster": config,
            "topic": topic,
            "params": request.GET,
            "text_scopes": browsing.TEXT_SCOPES,
            "ws_path": reverse("tail_topic", kwargs={"cluster": cluster, "topic": topic}).replace(
                "/clusters/", "/ws/clusters/", 1
            ),
        },
    )


@require_GET
def tail_pick(request: HttpRequest, cluster: str) -> HttpResponse:
    """The "Live tail" entry in the navigation: pick a topic to watch."""
    config = _cluster(cluster)
    error, topics = "", []
    try:
        topics = metadata.topic_names(config)
    except ClusterError as exc:
        error = str(exc)
    return render(
        request,
        "console/messages/tail_pick.html",
        {"cluster": config, "topics": topics, "cluster_error": error},
    )


def _tail_text(raw: bytes | None, limit: int) -> tuple[str, str]:
    """(kind, escaped preview) of a key or value for one tail row, cheaply.

    Only the first bytes are looked at and JSON is shown as written (not re-parsed):
    the tail renders thousands of rows a second and a row is one line on screen anyway.
    """
    if raw is None:
        return "null", "<em>null</em>"
    head = raw[: limit * 4]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A cut through a multi-byte character at the end is still text.
        if exc.start < len(head) - 3 or len(head) == len(raw):
            return "hex", html.escape(raw[:limit].hex(" ")[:limit].rstrip())
        text = head[: exc.start].decode("utf-8")
    if not decoders.DECODERS["text"].accepts(text[:limit].encode()):
        return "hex", html.escape(raw[:limit].hex(" ")[:limit].rstrip())
    kind = "json" if text[:1] in "{[" else "text"
    more = "…" if len(text) > limit or len(head) < len(raw) else ""
    return kind, html.escape(text[:limit]) + more


def tail_row_html(record: browsing.Record) -> str:
    """One live-tail row. Plain string building, not a template: it runs for up to
    thousands of records a second, and a template render costs ten times as much."""
    _, key = _tail_text(record.key, 80)
    kind, value = _tail_text(record.value, TAIL_PREVIEW_CHARS)
    heads = html.escape(" ".join(f"{n}={_header_text(v)}" for n, v in record.headers)[:120])
    if record.timestamp >= 0:
        seconds, ms = divmod(record.timestamp, 1000)
        when = time.strftime("%H:%M:%S", time.gmtime(seconds)) + f".{ms:03d}"
    else:
        when = "—"
    return (
        f'<tr class="tail-row" data-p="{record.partition}" data-o="{record.offset}">'
        f'<td class="num">{record.partition}</td><td class="num">{record.offset}</td>'
        f'<td title="{record.timestamp} ms, {record.timestamp_type or "no timestamp"}">{when}</td>'
        f'<td class="key">{key}</td><td class="val fmt-{kind}">{value}</td>'
        f'<td class="hdr">{heads}</td></tr>'
    )
