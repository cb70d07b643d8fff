"""Cluster pages (list, add, remove) and the helpers every cluster-scoped view uses.

Owns resolving the `<cluster>` URL part (unknown slug -> 404) and fetching the cached
snapshot without ever letting an unreachable cluster turn into a stack trace: views get
the error text for the banner and the last snapshot, if any. Only admins add or remove
clusters; the bundled `local` cluster comes from settings and cannot be removed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from console import audit
from console.forms import ClusterForm
from console.kafka import admin
from console.kafka.clusters import ClusterConfig, ClusterNotFound, all_clusters, get_cluster
from console.models import Cluster
from console.permissions import is_admin


def cluster_or_404(slug: str) -> ClusterConfig:
    try:
        return get_cluster(slug)
    except ClusterNotFound:
        raise Http404(f"No cluster called {slug!r}.") from None


@dataclass
class ClusterView:
    """What a page knows about its cluster: the snapshot, or why there is none."""

    cluster: ClusterConfig
    snapshot: admin.Snapshot | None
    error: str = ""

    @property
    def stale_at(self) -> int | None:
        return self.snapshot.taken_at_ms if self.snapshot and self.error else None


_last_good: dict[str, admin.Snapshot] = {}


def cluster_view(slug: str, max_age: float = admin.SNAPSHOT_TTL) -> ClusterView:
    """The snapshot of `slug`; on failure the last good one (marked stale) and the error."""
    cluster = cluster_or_404(slug)
    try:
        snap = admin.snapshot(cluster, max_age=max_age)
    except admin.ClusterError as exc:
        return ClusterView(cluster, _last_good.get(cluster.bootstrap), str(exc))
    _last_good[cluster.bootstrap] = snap
    return ClusterView(cluster, snap)


def is_htmx(request: HttpRequest) -> bool:
    """True for requests made by htmx (django-htmx sets `request.htmx`)."""
    return bool(getattr(request, "htmx", False))


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    """A readable 403: what was refused and why."""
    return render(request, "console/forbidden.html", {"message": message}, status=403)


@require_http_methods(["GET", "POST"])
def cluster_list(request: HttpRequest) -> HttpResponse:
    """Every cluster the console knows; admins add one with the form below the list."""
    if request.method == "POST" and not is_admin(request.user):
        return forbidden(request, "Only administrators add clusters.")
    form = ClusterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        row = form.save()
        audit.record(
            request.user,
            "cluster.add",
            row.slug,
            row.name,
            after={"bootstrap": row.bootstrap_servers, "security": row.security_protocol},
        )
        messages.success(request, f"Cluster {row.name} added.")
        return redirect("overview", cluster=row.slug)
    return render(
        request,
        "console/clusters.html",
        {"clusters": all_clusters(), "form": form, "can_edit": is_admin(request.user)},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
def cluster_remove(request: HttpRequest, cluster: str) -> HttpResponse:
    if not is_admin(request.user):
        return forbidden(request, "Only administrators remove clusters.")
    row = Cluster.objects.filter(slug=cluster).first()
    if row is None:
        raise Http404(f"No removable cluster called {cluster!r}.")
    before = {"name": row.name, "bootstrap": row.bootstrap_servers}
    row.delete()
    audit.record(request.user, "cluster.remove", cluster, before["name"], before=before)
    messages.success(request, f"Cluster {before['name']} removed from the console.")
    return redirect("clusters")
