"""Replication health page and the operations that fix placement: preferred leader election
and reassigning a topic's copies (other brokers, or another replication factor).

Owns the request side: the health page from the snapshot, the admin check before every
operation (refused as a readable 403), the preview of a reassignment before it is sent,
its progress, and the audit entry after each operation. It must never talk to Kafka except
through `console.kafka`, and never send a reassignment that was not previewed first.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console import audit, reassignment, replication
from console.kafka import admin, metadata, replicas
from console.kafka.errors import ClusterError, NotFound
from console.permissions import is_admin
from console.views.clusters import cluster_or_404, cluster_view, forbidden


@require_GET
def health(request: HttpRequest, cluster: str) -> HttpResponse:
    view = cluster_view(cluster)
    context: dict[str, Any] = {
        "cluster": view.cluster,
        "cluster_error": view.error,
        "stale_at": view.stale_at,
        "snapshot": view.snapshot,
        "can_change": is_admin(request.user),
    }
    if view.snapshot is not None:
        snap = view.snapshot
        context["health"] = replication.assess(snap.brokers, snap.topics)
        context["single_broker"] = len(snap.brokers) == 1
    # A single broker has nowhere to move copies to, so it is not asked.
    context["moving"] = []
    if not context.get("single_broker", False):
        try:
            context["moving"] = replicas.in_progress(view.cluster)
        except ClusterError as exc:
            context["moving_error"] = str(exc)
    return render(request, "console/health.html", context)


@require_POST
def elect(request: HttpRequest, cluster: str) -> HttpResponse:
    """Preferred leader election for one topic (`topic`) or every topic (none given)."""
    config = cluster_or_404(cluster)
    topic = request.POST.get("topic", "").strip()
    scope = f"topic {topic}" if topic else "every topic"
    if not is_admin(request.user):
        return forbidden(request, f"Only administrators elect leaders ({scope}).")
    try:
        partitions = None
        if topic:
            partitions = [(topic, p) for p in metadata.partitions_of(config, topic)]
        result = replicas.elect_preferred(config, partitions)
    except NotFound as exc:
        raise Http404(str(exc)) from None
    except ClusterError as exc:
        messages.error(request, str(exc))
        return redirect("health", cluster=cluster)
    failed = {f"{t}-{p}": why for (t, p), why in result.items() if why}
    audit.record(
        request.user,
        "replicas.elect",
        cluster,
        scope,
        after={"partitions": len(result), "failed": failed},
    )
    admin.invalidate(config)
    if failed:
        messages.error(
            request,
            f"{len(failed)} of {len(result)} partitions kept their leader: "
            + "; ".join(f"{k}: {v}" for k, v in sorted(failed.items())[:5]),
        )
    else:
        messages.success(request, f"Preferred leaders elected for {scope}.")
    return redirect("health", cluster=cluster)


@require_http_methods(["GET", "POST"])
def reassign(request: HttpRequest, cluster: str, topic: str) -> HttpResponse:
    """GET: the form and, with brokers and a factor given, the preview of the moves.
    POST (admin): send the previewed plan."""
    config = cluster_or_404(cluster)
    if not is_admin(request.user):
        return forbidden(request, f"Only administrators move the copies of {topic}.")
    data = request.POST if request.method == "POST" else request.GET
    try:
        info = admin.partition_details(config, topic)
        broker_ids = sorted(admin.snapshot(config).brokers)
    except admin.TopicNotFound as exc:
        raise Http404(str(exc)) from None
    except ClusterError as exc:
        messages.error(request, str(exc))
        return redirect("topics_detail", cluster=cluster, topic=topic)
    current = {p.partition: p.replicas for p in info.partitions}
    factor_now = max((len(r) for r in current.values()), default=1)
    chosen = [int(b) for b in data.getlist("broker") if b.isdigit()] or broker_ids
    context: dict[str, Any] = {
        "cluster": config,
        "topic": topic,
        "broker_ids": broker_ids,
        "chosen": chosen,
        "factor_now": factor_now,
        "factor": factor_now,
    }
    try:
        factor = int(data.get("factor", factor_now))
        context["factor"] = factor
        moves = reassignment.plan(current, chosen, factor)
    except (ValueError, reassignment.PlanError) as exc:
        context["plan_error"] = (
            str(exc)
            if isinstance(exc, reassignment.PlanError)
            else ("The replication factor must be a whole number.")
        )
        return render(request, "console/reassign.html", context, status=400)
    changing = [m for m in moves if m.changes]
    context |= {"moves": moves, "changing": changing}
    if request.method == "GET" or not changing:
        return render(request, "console/reassign.html", context)
    try:
        replicas.reassign(config, {(topic, m.partition): m.after for m in changing})
    except ClusterError as exc:
        context["plan_error"] = str(exc)
        return render(request, "console/reassign.html", context, status=502)
    audit.record(
        request.user,
        "replicas.reassign",
        cluster,
        f"topic {topic}",
        before={str(m.partition): list(m.before) for m in changing},
        after={str(m.partition): list(m.after) for m in changing},
    )
    admin.invalidate(config)
    messages.success(
        request,
        f"Reassignment of {len(changing)} partitions of {topic} started; "
        "its progress is on the health page.",
    )
    return redirect("health", cluster=cluster)
