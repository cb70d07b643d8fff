"""The message browser, export, one record's value, produce, and the live-tail pages.

Owns the request/response side of records: pages, fragments (htmx), JSON Lines or CSV,
with the query string read by `console.views.message_query` and records shown through
`console.message_rows`. It must never talk to a cluster except through `console.kafka`,
never change data without asking `console.permissions` first and writing `console.audit`
after, and never show a stack trace: every bad input or cluster failure becomes a
sentence on the page.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
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

from console import audit, decoders, message_pages, permissions
from console import browse as browsing
from console.clusters import ClusterConfig
from console.kafka import metadata, records
from console.kafka.errors import ClusterError, NotFound
from console.message_rows import csv_lines, export_row, present
from console.registry import chosen, encoding
from console.views import HtmxHttpRequest, error_fragment
from console.views.clusters import cluster_or_404
from console.views.message_query import (
    decoder_mode,
    format_cursor,
    link,
    query_from,
    stopped_sentence,
)

EXPORT_MAX = browsing.MAX_LIMIT


# --------------------------------------------------------------------------- parameters


@require_GET
def browse(request: HtmxHttpRequest, cluster: str, topic: str) -> HttpResponse:
    config = cluster_or_404(cluster)
    params = request.GET
    key_mode, value_mode = decoder_mode(params, "key_as"), decoder_mode(params, "value_as")
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
        page = message_pages.browse(config, query)
    except (ValueError, ClusterError) as exc:
        context["error"] = str(exc)
    else:
        context.update(
            page=page,
            shown=[present(r, cluster, topic, key_mode, value_mode) for r in page.records],
            stopped=stopped_sentence(page, query),
            filtered=query.filter.active,
            newer_link=link(params, cursor=format_cursor(page.next_cursor), dir=None),
            older_link=link(params, cursor=format_cursor(page.prev_cursor), dir="back"),
            # The same parameters give the same page, so export asks for exactly this view.
            export_query=params.urlencode(),
        )
    template = "console/messages/_results.html" if request.htmx else "console/messages/browse.html"
    return render(request, template, context, status=200)


@require_GET
def export(
    request: HttpRequest, cluster: str, topic: str, fmt: str
) -> HttpResponse | StreamingHttpResponse:
    """The current result as JSON Lines or CSV: the same query as the page, as a file."""
    config = cluster_or_404(cluster)
    if fmt not in ("jsonl", "csv"):
        raise Http404("Export as .jsonl or .csv.")
    value_mode = decoder_mode(request.GET, "value_as")
    key_mode = decoder_mode(request.GET, "key_as")
    try:
        query = query_from(topic, request.GET)
        page = message_pages.browse(config, query)
    except (ValueError, ClusterError) as exc:
        return HttpResponse(f"Export failed: {exc}\n", status=400, content_type="text/plain")
    rows = [export_row(r, key_mode, value_mode) for r in page.records]
    name = f"{topic}.{'jsonl' if fmt == 'jsonl' else 'csv'}"
    if fmt == "jsonl":
        body: Iterator[str] = (json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        response = StreamingHttpResponse(body, content_type="application/x-ndjson")
    else:
        response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    if page.stopped:
        response["X-Odradek-Stopped"] = page.stopped
    return response


def _one_record(config: ClusterConfig, topic: str, partition: int, offset: int) -> browsing.Record:
    query = browsing.Query(
        topic=topic, partitions=(partition,), start="offset", start_value=str(offset), limit=1
    )
    page = message_pages.browse(config, query)
    if not page.records or page.records[0].offset != offset:
        raise NotFound(f"there is no record at offset {offset} of partition {partition} (any more)")
    return page.records[0]


@require_GET
def record_raw(
    request: HttpRequest, cluster: str, topic: str, partition: int, offset: int
) -> HttpResponse:
    """One record's value exactly as stored, as a download."""
    config = cluster_or_404(cluster)
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
    config = cluster_or_404(cluster)
    mode = decoder_mode(request.GET, "as")
    try:
        record = _one_record(config, topic, partition, offset)
    except ClusterError as exc:
        return error_fragment(
            HttpResponse(f'<p class="error">{html.escape(str(exc))}</p>', status=404)
        )
    value = decoders.decode(record.value, mode)
    return render(request, "console/messages/_value_full.html", {"value": value})


# --------------------------------------------------------------------------- produce


@require_http_methods(["GET", "POST"])
def produce(request: HtmxHttpRequest, cluster: str, topic: str) -> HttpResponse:
    config = cluster_or_404(cluster)
    allowed = permissions.can_change_topic(request.user, cluster, topic)
    registry = chosen.of_cluster(cluster)
    context: dict[str, Any] = {
        "cluster": config,
        "topic": topic,
        "allowed": allowed,
        "form": request.POST if request.method == "POST" else {"value_format": "text"},
        "errors": [],
        "produced": None,
        "schema_subjects": encoding.subjects_for(registry, topic),
    }
    template = (
        "console/messages/_produce_form.html" if request.htmx else "console/messages/produce.html"
    )
    if request.method == "GET":
        return render(request, template, context)
    if not allowed:
        return HttpResponseForbidden(
            "Only admins and members of the team that owns this topic may write to it."
        )
    # htmx swaps only 2xx answers, so the form with its errors comes back as 200 to htmx.
    refused = 200 if request.htmx else 400
    errors, fields = _produce_fields(request.POST, registry)
    if errors:
        context["errors"] = errors
        return render(request, template, context, status=refused)
    try:
        produced = records.produce(config, topic, **fields)
    except ClusterError as exc:
        context["errors"] = [str(exc)]
        return render(request, template, context, status=200 if request.htmx else 502)
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
    context["form"] = {
        "value_format": request.POST.get("value_format", "text"),
        "value_schema": request.POST.get("value_schema", ""),
    }
    return render(request, template, context)


def _produce_fields(post: QueryDict, registry: chosen.Registry) -> tuple[list[str], dict[str, Any]]:
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
    elif post.get("value_schema"):
        try:
            fields["value"] = encoding.encode(
                registry, post.get("value_schema", ""), post.get("value", "")
            )
        except ValueError as exc:
            errors.append(f"Value: {exc}.")
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
    config = cluster_or_404(cluster)
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
    config = cluster_or_404(cluster)
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
