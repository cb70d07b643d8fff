"""The console shell: the root redirect, the overview page and the health endpoint.

Owns what every deployment needs before any cluster feature. It must never block a page on
an unreachable cluster for longer than `ODRADEK_CLUSTER_TIMEOUT`; the overview reads the
same cached snapshot as the topic pages, and counts groups with lag from the lag
sampler's latest pass when it is fresh, else (briefly cached) from the cluster itself.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from console import replication
from console.clusters import ClusterConfig, local_cluster
from console.kafka.metadata import ping
from console.lag import measure
from console.lag.models import GroupSample
from console.models import Team
from console.permissions import team_for_topic
from console.views.clusters import cluster_view
from console.views.retention import assess

# Samples older than this (three default sampling intervals) mean the sampler is not
# running for this cluster; the overview then measures lag itself.
SAMPLES_FRESH_FOR = timedelta(seconds=90)
MEASURED_TTL = 10.0  # seconds a measured count is reused, like the topic snapshot


@dataclass(frozen=True)
class GroupsWithLag:
    """How many consumer groups are behind, out of how many, and where that came from."""

    lagging: int | None  # None: could not be measured
    total: int = 0
    source: str = ""  # "sampled at ..." or "measured now", for the hover text
    error: str = ""


_measured: dict[str, tuple[float, GroupsWithLag]] = {}
_measured_lock = threading.Lock()


def groups_with_lag(cluster: ClusterConfig) -> GroupsWithLag:
    """Groups whose total lag is above zero: the sampler's latest pass if fresh, else
    measured through `console.kafka.groups` (offsets only, no record reads)."""
    latest = (
        GroupSample.objects.filter(cluster=cluster.slug)
        .order_by("-at")
        .values_list("at", flat=True)
    ).first()
    if latest is not None and datetime.now(UTC) - latest <= SAMPLES_FRESH_FOR:
        lags = list(
            GroupSample.objects.filter(cluster=cluster.slug, at=latest).values_list(
                "lag", flat=True
            )
        )
        return GroupsWithLag(
            sum(1 for lag in lags if lag > 0),
            len(lags),
            f"from the lag sampler at {latest:%H:%M:%S} UTC",
        )
    key = cluster.bootstrap + "|" + cluster.slug
    with _measured_lock:
        cached = _measured.get(key)
    if cached and time.monotonic() - cached[0] < MEASURED_TTL:
        return cached[1]
    try:
        measured = measure.all_groups_lag(cluster, with_time=False)
    except Exception as exc:  # ClusterError or anything else: a count never breaks the page
        return GroupsWithLag(None, error=f"Could not measure consumer lag: {exc}")
    result = GroupsWithLag(
        sum(1 for g in measured if g.total_lag > 0),
        len(measured),
        f"measured at {datetime.now(UTC):%H:%M:%S} UTC (the lag sampler is not running)",
    )
    with _measured_lock:
        _measured[key] = (time.monotonic(), result)
    return result


@require_GET
def root(request: HttpRequest) -> HttpResponse:
    return redirect("overview", cluster="local")


@require_GET
def overview(request: HttpRequest, cluster: str) -> HttpResponse:
    view = cluster_view(cluster)
    snap = view.snapshot
    context: dict[str, object] = {
        "cluster": view.cluster,
        "cluster_error": view.error,
        "stale_at": view.stale_at,
        "bootstrap": view.cluster.bootstrap,
        "snapshot": snap,
    }
    if snap:
        teams = list(Team.objects.all())
        now_ms = int(time.time() * 1000)
        user_topics = [t for t in snap.topics.values() if not t.internal]
        sizes = [t.size for t in snap.topics.values()]
        warned = [
            a
            for t in user_topics
            if (a := assess(t, team_for_topic(t.name, teams), now_ms)).warnings
        ]
        context |= {
            "brokers": snap.brokers,
            "topic_count": len(user_topics),
            "internal_count": len(snap.topics) - len(user_topics),
            "partition_count": snap.partition_count,
            "total_size": None if None in sizes else sum(s for s in sizes if s is not None),
            "recent_messages": sum(t.recent_messages for t in snap.topics.values()),
            "retention_warnings": warned[:5],
            "retention_warning_count": len(warned),
            "groups_with_lag": groups_with_lag(view.cluster),
            "health": replication.assess(snap.brokers, snap.topics),
        }
    return render(request, "console/overview.html", context)


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the console can reach its cluster, 503 (with the reason) when it cannot."""
    result = ping(local_cluster())
    body = {
        "console": "ok",
        "cluster": {
            "slug": "local",
            "bootstrap": settings.ODRADEK_LOCAL_BOOTSTRAP,
            "reachable": result.ok,
            "brokers": result.brokers,
            "error": result.error,
        },
    }
    return JsonResponse(body, status=200 if result.ok else 503)
