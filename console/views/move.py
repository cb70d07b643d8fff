"""The "Move to another cluster" page: the MirrorMaker 2 configuration for chosen topics and
groups, then the source and the target compared until they match.

Owns the request side: which clusters, topics and groups were chosen, reading both sides
fresh through `console.kafka`, and the htmx-refreshed comparison. It changes nothing on
either cluster (MirrorMaker does the moving), so reading it needs no admin rights; the
configuration names no password, and must never show one.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from console.clusters import ClusterConfig, all_clusters
from console.kafka import admin, groups
from console.kafka.errors import ClusterError, NotFound
from console.kafka.model import TopicInfo
from console.mirror_config import MirrorPlan, properties
from console.move_compare import compare
from console.views.clusters import cluster_or_404

DEFAULT_COPIES = 3


@require_GET
def move(request: HttpRequest, cluster: str) -> HttpResponse:
    source = cluster_or_404(cluster)
    others = [c for c in all_clusters() if c.slug != source.slug]
    target = next((c for c in others if c.slug == request.GET.get("target")), None)
    chosen_topics = sorted(set(request.GET.getlist("topic")))
    chosen_groups = sorted(set(request.GET.getlist("group")))
    context: dict[str, Any] = {
        "cluster": source,
        "targets": others,
        "target": target,
        "chosen_topics": chosen_topics,
        "chosen_groups": chosen_groups,
        "compare_only": request.GET.get("part") == "compare",
    }
    try:
        snap = admin.snapshot(source)
        context["topics"] = sorted(t for t, info in snap.topics.items() if not info.internal)
        context["groups"] = sorted(g.group_id for g in groups.list_groups(source))
    except ClusterError as exc:
        context["cluster_error"] = str(exc)
    if target is not None and chosen_topics:
        context |= _plan_and_compare(source, target, chosen_topics, chosen_groups)
    template = "console/_move_compare.html" if context["compare_only"] else "console/move.html"
    return render(request, template, context)


def _plan_and_compare(
    source: ClusterConfig, target: ClusterConfig, topics: list[str], group_ids: list[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        target_brokers = len(admin.snapshot(target, max_age=0).brokers)
    except ClusterError as exc:
        return {"target_error": str(exc)}
    copies = max(1, min(DEFAULT_COPIES, target_brokers))
    plan = MirrorPlan(source.bootstrap, target.bootstrap, topics, group_ids, copies)
    out["mirror_properties"] = properties(plan)
    out["copies"] = copies
    try:
        out["comparison"] = compare(
            _topics(source, topics),
            _topics(target, topics),
            groups.committed_offsets(source, group_ids),
            _positions(target, group_ids),
        )
    except ClusterError as exc:
        out["target_error"] = str(exc)
    return out


def _positions(cluster: ClusterConfig, group_ids: list[str]) -> dict[str, dict[Any, int]]:
    """Each group's positions on the target; none for a group not there yet (Kafka 4
    answers GROUP_ID_NOT_FOUND for it rather than an empty list)."""
    out: dict[str, dict[Any, int]] = {}
    for group in group_ids:
        try:
            out |= groups.committed_offsets(cluster, [group])
        except NotFound:
            out[group] = {}
        except ClusterError as exc:
            if "GROUP_ID_NOT_FOUND" not in str(exc):
                raise
            out[group] = {}
    return out


def _topics(cluster: ClusterConfig, names: list[str]) -> dict[str, TopicInfo | None]:
    found: dict[str, TopicInfo | None] = {}
    for name in names:
        try:
            found[name] = admin.partition_details(cluster, name)
        except NotFound:
            found[name] = None  # not created there yet: MirrorMaker has not started
    return found
