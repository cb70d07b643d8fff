"""Cluster pages (list, add, edit, remove) and the helpers every cluster-scoped view uses.

Owns resolving the `<cluster>` URL part (unknown slug -> 404) and fetching the cached
snapshot without ever letting an unreachable cluster turn into a stack trace: views get
the error text for the banner and the last snapshot, if any. Only admins add, edit or
remove clusters; the bundled `local` cluster comes from settings and cannot be changed
here. Audit entries never carry a password, only whether it changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from console import audit
from console.clusters import (
    LOCAL_SLUG,
    ClusterConfig,
    ClusterNotFound,
    all_clusters,
    get_cluster,
)
from console.forms import ClusterEditForm, ClusterForm
from console.kafka import admin
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
    gone = get_cluster(cluster)
    row.delete()
    admin.forget_cluster(gone)  # its connections and cached figures go with it
    _last_good.pop(gone.bootstrap, None)
    audit.record(request.user, "cluster.remove", cluster, before["name"], before=before)
    messages.success(request, f"Cluster {before['name']} removed from the console.")
    return redirect("clusters")


def _audit_view(row: Cluster) -> dict[str, str]:
    """What the audit log may show of a cluster's settings: never the password."""
    return {
        "name": row.name,
        "bootstrap": row.bootstrap_servers,
        "security": row.security_protocol,
        "sasl_mechanism": row.sasl_mechanism,
        "sasl_username": row.sasl_username,
        "tls_ca": "set" if row.ssl_ca_pem else "none",
    }


@require_http_methods(["GET", "POST"])
def cluster_edit(request: HttpRequest, cluster: str) -> HttpResponse:
    """Change a cluster's name, address or security; its clients and figures are dropped."""
    if not is_admin(request.user):
        return forbidden(request, "Only administrators change clusters.")
    if cluster == LOCAL_SLUG:
        return forbidden(
            request,
            "The bundled broker (local) is set by the console's settings "
            "(ODRADEK_LOCAL_BOOTSTRAP), not in the UI.",
        )
    row = Cluster.objects.filter(slug=cluster).first()
    if row is None:
        raise Http404(f"No cluster called {cluster!r}.")
    old_config = get_cluster(cluster)
    before = _audit_view(row)
    old_password = row.sasl_password
    form = ClusterEditForm(request.POST or None, instance=row)
    if request.method == "POST" and form.is_valid():
        row = form.save()
        after = _audit_view(row)
        changed = {k: v for k, v in after.items() if before[k] != v}
        if row.sasl_password != old_password:
            changed["sasl_password"] = "changed"  # that it changed, never what it is
        admin.forget_cluster(old_config)
        _last_good.pop(old_config.bootstrap, None)
        audit.record(
            request.user,
            "cluster.edit",
            row.slug,
            row.name,
            before={k: before[k] for k in changed if k in before},
            after=changed,
        )
        if changed:
            messages.success(request, f"Cluster {row.name} saved.")
        else:
            messages.info(request, f"Nothing changed in cluster {row.name}.")
        return redirect("clusters")
    return render(
        request,
        "console/cluster_edit.html",
        {"row": row, "form": form},
        status=400 if request.method == "POST" else 200,
    )
