"""Schemas pages: subjects and their versions, a diff between two versions, the
compatibility level, the cluster's topics that use each subject, and registering a new
version with the compatibility check shown before saving.

Owns the page side of the cluster's registry (the built-in one, or an existing one by URL,
reached through `console.registry.chosen`), and the admin's choice of it. It must never
hold registry rules (the registry does) and reaches the cluster only through
`console.views.clusters` (its topic snapshot).
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from console.permissions import is_admin
from console.registry import auth, chosen, decoding, formats
from console.registry.models import RegistrySource
from console.views import HtmxHttpRequest
from console.views.clusters import ClusterView, cluster_view, forbidden


def _pretty(text: str, schema_type: str) -> str:
    if schema_type == formats.PROTOBUF:
        return text
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def _topic_in(view: ClusterView, subject: str) -> str | None:
    """The cluster's topic `subject` belongs to, when the cluster has it."""
    topic = auth.topic_of(subject)
    known = view.snapshot.topics if view.snapshot is not None else {}
    return topic if topic in known else None


@require_http_methods(["GET", "POST"])
def schema_list(request: HtmxHttpRequest, cluster: str) -> HttpResponse:
    view = cluster_view(cluster)
    source = RegistrySource.objects.filter(cluster=cluster).first()
    source_error = ""
    if request.method == "POST":
        if not is_admin(request.user):
            return forbidden(request, "Only administrators choose a cluster's schema registry.")
        source, source_error = _choose_source(cluster, request.POST, source)
        if not source_error:
            return redirect("schemas", cluster=cluster)
    registry = chosen.of_cluster(cluster)
    rows, unreachable = [], ""
    try:
        for subject in registry.subjects():
            count, latest = registry.latest(subject)
            if latest is None:
                continue
            rows.append(
                {
                    "subject": subject,
                    "latest": latest,
                    "count": count,
                    "level": registry.level(subject),
                    "topic": _topic_in(view, subject),
                }
            )
    except chosen.RegistryUnavailable as exc:
        rows, unreachable = [], str(exc)
    return render(
        request,
        "console/schemas/list.html",
        {
            "cluster": view.cluster,
            "rows": rows,
            "topics_error": view.error,
            "source": source,
            "source_error": source_error,
            "unreachable": unreachable,
            "can_choose": is_admin(request.user),
        },
    )


def _choose_source(
    cluster: str, post: Any, current: RegistrySource | None
) -> tuple[RegistrySource | None, str]:
    """Apply the registry form: the built-in registry, or an external URL with its login."""
    if post.get("registry") != "external":
        RegistrySource.objects.filter(cluster=cluster).delete()
        decoding.forget()
        return None, ""
    url = post.get("url", "").strip()
    if not url.startswith(("http://", "https://")):
        return current, "The registry URL starts with http:// or https://."
    source = current or RegistrySource(cluster=cluster)
    source.url, source.username = url, post.get("username", "").strip()
    # An empty password field keeps the stored one: the page never shows it.
    if post.get("password") or not source.username:
        source.password = post.get("password", "")
    source.save()
    decoding.forget()
    return source, ""


def _check(
    registry: chosen.Registry, subject: str, schema_type: str, text: str
) -> tuple[list[str], str]:
    """(compatibility problems, invalid-schema message) for a schema typed on the page."""
    try:
        return registry.problems(subject, schema_type, text), ""
    except chosen.Refused as exc:
        return [], str(exc)


@require_http_methods(["GET", "POST"])
def schema_subject(request: HtmxHttpRequest, cluster: str, subject: str) -> HttpResponse:
    view = cluster_view(cluster)
    registry = chosen.of_cluster(cluster)
    try:
        rows, level = registry.versions(subject), registry.level(subject)
    except chosen.RegistryUnavailable as exc:
        return render(
            request,
            "console/schemas/subject.html",
            {"cluster": view.cluster, "subject": subject, "unreachable": str(exc), "rows": []},
            status=502,
        )
    allowed = auth.may_write(auth.of_user(request.user), subject)
    context: dict[str, Any] = {
        "cluster": view.cluster,
        "subject": subject,
        "where": registry.where,
        "rows": rows,
        "allowed": allowed,
        "level": level,
        "problems": None,
        "invalid": "",
        "draft": "",
        "draft_type": rows[-1].schema_type if rows else formats.AVRO,
    }
    if request.method == "POST":
        if not allowed:
            return forbidden(request, f"You may not register schemas for subject {subject}.")
        draft_type = request.POST.get("schema_type", formats.AVRO)
        draft = request.POST.get("schema", "")
        try:
            problems, invalid = _check(registry, subject, draft_type, draft)
        except chosen.RegistryUnavailable as exc:
            problems, invalid, context["unreachable"] = [], "", str(exc)
        context |= {
            "draft": draft,
            "draft_type": draft_type,
            "problems": problems,
            "invalid": invalid,
        }
        ready = not problems and not invalid and not context.get("unreachable")
        if request.POST.get("action") == "register" and ready:
            try:
                number = registry.register(subject, draft_type, draft)
            except chosen.Refused as exc:
                context["invalid"] = str(exc)
            except chosen.RegistryUnavailable as exc:
                context["unreachable"] = str(exc)
            else:
                return redirect(f"{request.path}?v={number}", permanent=False)
        if request.htmx:
            return render(request, "console/schemas/_check.html", context)
    elif not rows:
        raise Http404(f"Subject {subject} has no versions.")
    if rows:
        by_number = {r.version: r for r in rows}
        shown = by_number.get(_int(request.GET.get("v")), rows[-1])
        other = by_number.get(_int(request.GET.get("diff")))
        context |= {
            "shown": shown,
            "shown_text": _pretty(shown.text, shown.schema_type),
            "other": other,
            "diff": _diff(other, shown) if other is not None else [],
        }
    context["topic"] = _topic_in(view, subject)
    return render(request, "console/schemas/subject.html", context)


def _int(raw: str | None) -> int:
    """A version number from the query string; 0 (no such version) when absent or garbled."""
    try:
        return int(raw) if raw else 0
    except ValueError:
        return 0


def _diff(old: chosen.Version, new: chosen.Version) -> list[str]:
    before = _pretty(old.text, old.schema_type).splitlines()
    after = _pretty(new.text, new.schema_type).splitlines()
    return list(
        difflib.unified_diff(before, after, f"v{old.version}", f"v{new.version}", lineterm="")
    )
