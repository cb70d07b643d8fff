"""Template filters that put numbers in plain words, with the exact value on hover.

Owns formatting only: `bytes_h`, `age_h`, `count_h`, `rate_h`, `ts`, and the plain-text
helpers behind them (`human_bytes`, `human_age`…) for views that write sentences. It must
never call a cluster or the database. `None` renders as an em dash, meaning "unknown".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from console import inputs
from console.kafka.errors import refused_text

register = template.Library()

UNKNOWN = "—"
_BYTE_UNITS = ["B", "kB", "MB", "GB", "TB", "PB"]
_COUNT_UNITS = ["", "k", "M", "G", "T"]
_MS = {"day": 86_400_000, "h": 3_600_000, "min": 60_000, "s": 1000}


def human_bytes(n: float) -> str:
    """1234567 -> "1.2 MB" (decimal units, like disk vendors and Kafka's docs)."""
    sign = -1 if n < 0 else 1
    v, i = abs(float(n)), 0
    while v >= 1000 and i < len(_BYTE_UNITS) - 1:
        v /= 1000
        i += 1
    if i == 0:
        return f"{round(sign * v)} B"
    text = f"{v:.1f}" if v < 10 else f"{v:.0f}"
    return f"{'-' if sign < 0 else ''}{text} {_BYTE_UNITS[i]}"


def human_count(n: float) -> str:
    """1234567 -> "1.2 M"; small numbers stay exact."""
    v, i = abs(float(n)), 0
    if v < 10_000:
        return f"{round(n):,}"
    while v >= 1000 and i < len(_COUNT_UNITS) - 1:
        v /= 1000
        i += 1
    text = f"{v:.1f}" if v < 10 else f"{v:.0f}"
    return f"{'-' if n < 0 else ''}{text} {_COUNT_UNITS[i]}"


def human_age(ms: float) -> str:
    """A duration in ms in two plain units: "6 days 4 h", "3 h 12 min", "40 s"."""
    if ms < 0:
        return "forever" if ms == -1 else UNKNOWN
    if ms < 1000:
        return f"{int(ms)} ms"
    days, rest = divmod(int(ms), _MS["day"])
    hours, rest = divmod(rest, _MS["h"])
    minutes, rest = divmod(rest, _MS["min"])
    seconds = rest // 1000
    if days:
        word = "day" if days == 1 else "days"
        return f"{days} {word} {hours} h" if hours else f"{days} {word}"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    return f"{seconds} s"


def human_rate(per_second: float, unit: str = "B") -> str:
    """A rate in words. Bytes read best per day ("80 MB/day") unless that passes a TB;
    other units take the shortest period that gives at least one ("3 msg/s", "4 msg/h")."""
    if unit == "B":
        per_day = per_second * 86_400
        if per_day < 1000**4:
            return f"{human_bytes(per_day)}/day"
        return f"{human_bytes(per_second)}/s"
    for period, seconds in (("s", 1), ("min", 60), ("h", 3600)):
        if per_second * seconds >= 1:
            return f"{human_count(per_second * seconds)} {unit}/{period}"
    return f"{human_count(per_second * 86_400)} {unit}/day"


def exact_ts(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def _hover(value: int | float | None, span: str, words: Callable[[float], str]) -> SafeString | str:
    """`value` in words, the exact figure on hover (`span` has a slot for each); None is
    unknown. The unit is part of `span`: one argument fewer to escape, on pages that show
    thousands of figures."""
    if value is None:
        return UNKNOWN
    return format_html(span, f"{int(value):,}", words(value))


@register.filter
def refused(error: str) -> bool:
    """Whether a cluster error is the cluster refusing the console (not unreachable)."""
    return refused_text(str(error))


@register.filter
def bytes_h(value: int | float | None) -> SafeString | str:
    return _hover(value, '<span title="{} bytes">{}</span>', human_bytes)


@register.filter
def count_h(value: int | float | None) -> SafeString | str:
    return _hover(value, '<span title="{}">{}</span>', human_count)


@register.filter
def age_h(ms: int | float | None) -> SafeString | str:
    """A duration in milliseconds; -1 is Kafka's "forever"."""
    return _hover(ms, '<span title="{} ms">{}</span>', human_age)


@register.filter
def rate_h(per_second: float | None, unit: str = "B") -> SafeString | str:
    if per_second is None:
        return UNKNOWN
    exact = f"{per_second:,.3f} {unit}/s"
    return format_html('<span title="{}">{}</span>', exact, human_rate(per_second, unit))


@register.filter
def ts(ms: int | None) -> SafeString | str:
    """A Kafka timestamp (ms since the epoch): the minute in UTC, the exact value on hover."""
    if ms is None or ms < 0:
        return UNKNOWN
    when = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return format_html(
        '<time datetime="{}" title="{} ({} ms)">{}</time>',
        when.isoformat(),
        exact_ts(ms),
        ms,
        when.strftime("%Y-%m-%d %H:%M"),
    )


@register.simple_tag(takes_context=True)
def cluster_choices(context: template.Context) -> list[dict[str, object]]:
    """Clusters for the switcher; each link keeps the section (topics, retention…)."""
    from console.clusters import all_clusters

    request = context.get("request")
    current = context.get("cluster_slug", "local")
    section = ""
    if request is not None:
        parts = request.path.strip("/").split("/")
        if len(parts) >= 3 and parts[0] == "clusters":
            section = parts[2] + "/"
    return [
        {
            "slug": c.slug,
            "name": c.name,
            "href": f"/clusters/{c.slug}/{section}",
            "current": c.slug == current,
        }
        for c in all_clusters()
    ]


@register.filter
def duration_in(ms: int | None) -> str:
    """A duration as people type it back into a form: "7 days", "12 h", "forever"."""
    return inputs.duration_text(ms)


@register.filter
def size_in(n: int | None) -> str:
    """A size as people type it back into a form: "1 GB", "512 MiB", "" for no limit."""
    return inputs.size_text(n)


@register.filter
def config_h(value: str | None, name: str) -> SafeString | str:
    """A topic config in words ("7 days", "never"), the exact value on hover."""
    shown = inputs.config_text(name, value)
    if value is None or shown == value:
        return shown
    return format_html('<span title="{}">{}</span>', value, shown)


@register.filter
def config_in(value: str | None, name: str) -> str:
    """A topic config as people type it back into the editor."""
    return inputs.config_text(name, value)
