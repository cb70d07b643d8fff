"""Server-side SVG line charts for lag history and rates: no JavaScript, no library.

Owns drawing only: series of (epoch seconds, value) in, an SVG string out (escaped, safe
to embed). It must never query the database or a cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

COLORS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea")
Point = tuple[float, float]


def line_chart(
    series: Sequence[tuple[str, Sequence[Point]]],
    *,
    title: str,
    unit: str = "",
    width: int = 640,
    height: int = 160,
) -> SafeString:
    """A small multi-series line chart with its max value and time range labelled."""
    points = [p for _, pts in series for p in pts]
    if len(points) < 2:
        return mark_safe(
            f'<p class="chart-empty">{escape(title)}: not enough samples yet '
            "(the lag sampler records one every interval).</p>"
        )
    pad_l, pad_b, pad_t = 56, 20, 18
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y1 = max(max(p[1] for p in points), 1.0)
    span_x = max(x1 - x0, 1.0)

    def sx(x: float) -> float:
        return pad_l + (x - x0) / span_x * (width - pad_l - 4)

    def sy(y: float) -> float:
        return pad_t + (1 - y / y1) * (height - pad_t - pad_b)

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{pad_l}" y1="{sy(0):.1f}" x2="{width - 4}" y2="{sy(0):.1f}" stroke="#ccc"/>',
        f'<text x="{pad_l - 4}" y="{pad_t + 4}" text-anchor="end" font-size="10">'
        f"{escape(_num(y1))}{escape(unit)}</text>",
        f'<text x="{pad_l - 4}" y="{sy(0):.1f}" text-anchor="end" font-size="10">0</text>',
        f'<text x="{pad_l}" y="{height - 4}" font-size="10">{_hm(x0)}</text>',
        f'<text x="{width - 4}" y="{height - 4}" text-anchor="end" font-size="10">{_hm(x1)} UTC</text>',
    ]
    for i, (name, pts) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        parts.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{coords}">'
            f"<title>{escape(name)}</title></polyline>"
        )
        parts.append(
            f'<text x="{pad_l + 6 + i * 140}" y="12" font-size="11" fill="{color}">'
            f"{escape(name)}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every interpolated text above is escaped


def _num(v: float) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= size:
            return f"{v / size:.1f}{suffix}"
    return f"{v:.0f}" if v >= 10 else f"{v:.2g}"


def _hm(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%m-%d %H:%M")
