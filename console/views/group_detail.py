"""What the group detail page shows: lag per partition a page at a time, per topic,
members with their assignments in short ranges, rates and replay progress.

Owns turning a measured `GroupLag` and the lag history into the detail template's
context. It must never change a group, and reaches the cluster only through
`console.lag.measure`.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest
from django.utils import timezone

from console.clusters import ClusterConfig
from console.kafka.errors import ClusterError
from console.kafka.model import TP
from console.lag import history, measure
from console.lag.arithmetic import PartitionLag
from console.lag.models import LagAlert
from console.permissions import can_change_topic, is_admin

PARTITIONS_PER_PAGE = 100


_ORDERS: dict[str, Any] = {
    "lag": lambda p: (-(p.lag or 0), p.topic, p.partition),
    "partition": lambda p: (p.topic, p.partition),
}


def _by_topic(parts: list[PartitionLag]) -> dict[str, list[PartitionLag]]:
    out: dict[str, list[PartitionLag]] = {}
    for p in parts:
        out.setdefault(p.topic, []).append(p)
    return dict(sorted(out.items()))


def ranges(assignment: tuple[TP, ...]) -> str:
    """(("t", 0), ("t", 1), ("t", 2), ("t", 7)) -> "t[0-2, 7]": short even for 1,000."""
    parts: dict[str, list[int]] = {}
    for topic, partition in assignment:
        parts.setdefault(topic, []).append(partition)
    out = []
    for topic, nums in sorted(parts.items()):
        spans: list[str] = []
        nums.sort()
        start = prev = nums[0]
        for n in [*nums[1:], None]:
            if n is not None and n == prev + 1:
                prev = n
                continue
            spans.append(str(start) if start == prev else f"{start}-{prev}")
            if n is not None:
                start = prev = n
        out.append(f"{topic}[{', '.join(spans)}]")
    return "; ".join(out)


def detail_context(request: HttpRequest, cfg: ClusterConfig, group: str) -> dict[str, Any]:
    now = timezone.now()
    context: dict[str, Any] = {"cluster": cfg, "group": group, "cluster_error": ""}
    try:
        lag = measure.group_lag(cfg, group)
    except ClusterError as exc:
        context["cluster_error"] = str(exc)
        return context
    commits = history.last_commits(cfg.slug, group)
    # A person reads a page of partitions, not 1,000 rows; the most lagging come first.
    order = request.GET.get("order", "lag")
    parts = sorted(lag.partitions, key=_ORDERS.get(order, _ORDERS["lag"]))
    page = Paginator(parts, PARTITIONS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [{"p": p, "last_commit": commits.get((p.topic, p.partition))} for p in page]
    topics = [
        {
            "topic": t,
            "partitions": len(ps),
            "lag": sum(p.lag or 0 for p in ps),
            "lag_ms": max((p.lag_ms for p in ps if p.lag_ms is not None), default=None),
        }
        for t, ps in _by_topic(lag.partitions).items()
    ]
    members = [(m, ranges(m.assignment)) for m in lag.description.members]
    rate = history.rates(cfg.slug, group, now)
    context.update(
        lag=lag,
        rows=rows,
        page=page,
        order=order,
        topic_rows=topics,
        members=members,
        exists=bool(lag.partitions or lag.description.members),
        rate=rate,
        progress=history.replay_progress(cfg.slug, lag, rate, now),
        alert=LagAlert.objects.filter(cluster=cfg.slug, group=group).first(),
        can_change=all(can_change_topic(request.user, cfg.slug, t) for t in lag.topics),
    )
    # Who may see the webhook URL: whoever may change the alert.
    context["manages_alert"] = is_admin(request.user) or bool(lag.topics and context["can_change"])
    return context
