"""The console shell: the root redirect, the overview page and the health endpoint.

Owns what every deployment needs before any cluster feature. It must never block a page on
an unreachable cluster for longer than `ODRADEK_CLUSTER_TIMEOUT`; the overview reads the
same cached snapshot as the topic pages.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from console.kafka.ping import ping
from console.models import Team
from console.permissions import team_for_topic
from console.views.clusters import cluster_view
from console.views.retention import assess


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
        }
    return render(request, "console/overview.html", context)


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the console can reach its cluster, 503 (with the reason) when it cannot."""
    result = ping(settings.ODRADEK_LOCAL_BOOTSTRAP, timeout=settings.ODRADEK_CLUSTER_TIMEOUT)
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
