"""The retention page: how much history each topic keeps, how big it gets, and warnings.

Owns the arithmetic of retention in plain words (`assess`) and the page and edit action
around it. It must never guess silently: where a figure cannot be known (an empty topic,
no sizes from the cluster) it says unknown rather than inventing one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from console import audit
from console.forms import RetentionForm
from console.kafka import admin
from console.models import Team
from console.permissions import can_change_topic, team_for_topic
from console.templatetags.odradek import human_age, human_bytes
from console.views.clusters import cluster_or_404, cluster_view, forbidden
from console.views.team_usage import config_refusal

PAGE_SIZE = 50  # as the topics list; each row carries its own edit form
# Below this much history a topic is too young to project a rate from.
MIN_SPAN_MS = 60_000


@dataclass
class Assessment:
    topic: admin.TopicInfo
    team: Team | None
    covers_ms: int | None = None
    rate_bps: float | None = None  # bytes per second, averaged over the history held
    projected_bytes: int | None = None  # None with a rate means "grows without bound"
    unbounded: bool = False
    warnings: list[str] = field(default_factory=list)


def assess(topic: admin.TopicInfo, team: Team | None, now_ms: int) -> Assessment:
    """Coverage, write rate, projected size and warnings for one topic."""
    a = Assessment(topic, team)
    retention_ms, retention_bytes = topic.retention_ms, topic.retention_bytes
    size = topic.size
    if topic.oldest_ts is not None:
        a.covers_ms = max(0, now_ms - topic.oldest_ts)
    if size is not None and a.covers_ms is not None and a.covers_ms >= MIN_SPAN_MS:
        a.rate_bps = size / (a.covers_ms / 1000)
    cap = (
        retention_bytes * len(topic.partitions) if retention_bytes and retention_bytes > 0 else None
    )
    if "compact" in topic.cleanup_policy and "delete" not in topic.cleanup_policy:
        # A compacted topic keeps the latest value per key: its size follows the key space.
        a.projected_bytes = size
    elif a.rate_bps is not None:
        if retention_ms is not None and retention_ms >= 0:
            by_time = int(a.rate_bps * retention_ms / 1000)
            a.projected_bytes = min(by_time, cap) if cap is not None else by_time
        elif cap is not None:
            a.projected_bytes = cap
        else:
            a.unbounded = True
    elif cap is not None:
        a.projected_bytes = cap

    if a.unbounded:
        a.warnings.append("Keeps everything forever with no size cap: it grows without bound.")
    budget = team.max_total_bytes if team else None
    if team and budget is not None and a.projected_bytes is not None and a.projected_bytes > budget:
        a.warnings.append(
            f"Will grow to about {human_bytes(a.projected_bytes)}, over the "
            f"{team.name} budget of {human_bytes(budget)}."
        )
    if (
        retention_ms is not None
        and retention_ms > 0
        and cap is not None
        and a.rate_bps
        and cap / a.rate_bps * 1000 < retention_ms
    ):
        held = int(cap / a.rate_bps * 1000)
        a.warnings.append(
            f"The size cap will keep only about {human_age(held)} of the configured "
            f"{human_age(retention_ms)}."
        )
    elif (
        retention_ms is not None
        and retention_ms > 0
        and a.covers_ms is not None
        and any(p.start > 0 for p in topic.partitions)
        and a.covers_ms < retention_ms * 0.9
    ):
        a.warnings.append(
            f"Holds {human_age(a.covers_ms)} of history, less than the configured "
            f"{human_age(retention_ms)}: older records were already removed."
        )
    return a


@require_GET
def retention_page(request: HttpRequest, cluster: str) -> HttpResponse:
    view = cluster_view(cluster)
    teams = list(Team.objects.all())
    now_ms = int(time.time() * 1000)
    topics = [t for t in (view.snapshot.topics.values() if view.snapshot else []) if not t.internal]
    rows = [assess(t, team_for_topic(t.name, teams), now_ms) for t in topics]
    only_warnings = request.GET.get("warnings") == "1"
    query = request.GET.get("q", "").strip().lower()
    if only_warnings:
        rows = [r for r in rows if r.warnings]
    if query:
        rows = [r for r in rows if query in r.topic.name.lower()]
    # Topics that need attention first, then by name.
    rows.sort(key=lambda r: (not r.warnings, r.topic.name))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "console/retention.html",
        {
            "cluster": view.cluster,
            "cluster_error": view.error,
            "stale_at": view.stale_at,
            "snapshot": view.snapshot,
            "page": page,
            "warning_count": sum(1 for r in rows if r.warnings),
            "only_warnings": only_warnings,
            "q": query,
        },
    )


@require_POST
def retention_edit(request: HttpRequest, cluster: str, topic: str) -> HttpResponse:
    config = cluster_or_404(cluster)
    if not can_change_topic(request.user, cluster, topic):
        return forbidden(request, f"You can read {topic} but not change its retention.")
    form = RetentionForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, f"Retention of {topic} unchanged: {errors}")
        return redirect("retention", cluster=cluster)
    retention_ms = form.cleaned_data["retention"]
    retention_bytes = form.cleaned_data.get("retention_size")
    new: dict[str, str | None] = {
        "retention.ms": str(retention_ms),
        "retention.bytes": str(retention_bytes if retention_bytes is not None else -1),
    }
    try:
        refused = config_refusal(request.user, config, topic, dict(new))
        if refused:
            messages.error(request, f"Retention of {topic} unchanged: {' '.join(refused)}")
            return redirect("retention", cluster=cluster)
        before = admin.topic_configs(config, [topic], ("retention.ms", "retention.bytes"))
        admin.alter_topic_configs(config, topic, dict(new))
    except admin.ClusterError as exc:
        messages.error(request, str(exc))
        return redirect("retention", cluster=cluster)
    audit.record(
        request.user, "topic.config", cluster, topic, before=before.get(topic, {}), after=new
    )
    messages.success(
        request,
        f"{topic} now keeps records for {human_age(retention_ms)}"
        + (
            f", at most {human_bytes(retention_bytes)} per partition."
            if retention_bytes and retention_bytes > 0
            else "."
        ),
    )
    return redirect("retention", cluster=cluster)
