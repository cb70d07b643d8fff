"""The console shell: the root redirect, the overview page and the health endpoint.

Owns what every deployment needs before any cluster feature. It must never block a page on
an unreachable cluster for longer than `ODRADEK_CLUSTER_TIMEOUT`.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from console.kafka.ping import ping


@require_GET
def root(request: HttpRequest) -> HttpResponse:
    return redirect("overview", cluster="local")


@require_GET
def overview(request: HttpRequest, cluster: str) -> HttpResponse:
    result = ping(settings.ODRADEK_LOCAL_BOOTSTRAP, timeout=settings.ODRADEK_CLUSTER_TIMEOUT)
    return render(
        request,
        "console/overview.html",
        {"cluster": cluster, "bootstrap": settings.ODRADEK_LOCAL_BOOTSTRAP, "health": result},
    )


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
