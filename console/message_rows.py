"""Records as pages and files show them: decoded, previewed, exported, tail rows.

Owns `Shown` (a record ready for a template: decoded key and value, a one-line summary,
a bounded preview and its links), the export rows (JSON Lines, CSV) and the live tail's
rows, built as plain strings because the tail renders thousands a second. It must never
read a cluster nor decide what is read.
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

from django.urls import reverse
from django.utils.http import urlencode

from console import browse as browsing
from console import decoders

# Characters of a value shown before "show all"; the rest is one click away.
PREVIEW_CHARS = 2000


# A collapsed row shows this much of the value, on one line.
SUMMARY_CHARS = 120


# The live tail shows less: a row is one line on screen.
TAIL_PREVIEW_CHARS = 300


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


def _structured(shown: decoders.Decoded) -> bool:
    """Exported as a document, not a string: JSON, and whatever a registry schema read."""
    return shown.kind == "json" or bool(shown.schema)


def export_row(record: browsing.Record, key_mode: str, value_mode: str) -> dict[str, Any]:
    key, value = browsing.decoded(record, key_mode, value_mode)
    return {
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": record.timestamp,
        "timestamp_type": record.timestamp_type,
        "key": None if key.is_null else (key.data if _structured(key) else key.text),
        "key_format": key.kind,
        "value": None if value.is_null else (value.data if _structured(value) else value.text),
        "value_format": value.kind,
        "headers": {name: _header_text(v) for name, v in record.headers},
        "size": record.size,
    }


def csv_lines(rows: list[dict[str, Any]]) -> Iterator[str]:
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


def _tail_text(raw: bytes | None, limit: int) -> tuple[str, str]:
    """(kind, escaped preview) of a key or value for one tail row, cheaply.

    Only the first bytes are looked at and JSON is shown as written (not re-parsed):
    the tail renders thousands of rows a second and a row is one line on screen anyway.
    """
    if raw is None:
        return "null", "<em>null</em>"
    framed = decoders.DECODERS.get("schema-registry")
    if raw[:1] == b"\x00" and framed is not None and framed.accepts(raw):
        try:
            shown = framed.decode(raw)
        except ValueError:
            pass
        else:
            line = json.dumps(shown.data, ensure_ascii=False, default=str)
            more = "…" if len(line) > limit else ""
            note = f' <small class="muted schema-note">{html.escape(shown.schema)}</small>'
            return shown.kind, html.escape(line[:limit]) + more + note
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
