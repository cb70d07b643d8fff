"""Schemas pages: subjects and their versions, a diff between two versions, the
compatibility level, the cluster's topics that use each subject, and registering a new
version with the compatibility check shown before saving.

Owns the page side of the built-in registry, and the admin's choice of registry per cluster
(built-in, or an existing one by URL) that decoding uses. It must never hold registry rules (the store
does) and reaches the cluster only through `console.views.clusters` (its topic snapshot).
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from console.permissions import is_admin
from console.registry import auth, decoding, errors, formats, store
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
    rows = []
    for subject in store.subjects():
        found = store.versions(subject)
        rows.append(
            {
                "subject": subject,
                "latest": found[-1],
                "count": len(found),
                "level": store.compatibility_level(subject),
                "topic": _topic_in(view, subject),
            }
        )
    return render(
        request,
        "console/schemas/list.html",
        {
            "cluster": view.cluster,
            "rows": rows,
            "topics_error": view.error,
            "source": source,
            "source_error": source_error,
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


def _check(subject: str, schema_type: str, text: str) -> tuple[list[str], str]:
    """(compatibility problems, invalid-schema message) for a schema typed on the page."""
    try:
        parsed = store.parse(store.Candidate(schema_type, text, []))
    except errors.RegistryError as exc:
        return [], exc.message
    return store.problems(subject, parsed), ""


@require_http_methods(["GET", "POST"])
def schema_subject(request: HtmxHttpRequest, cluster: str, subject: str) -> HttpResponse:
    view = cluster_view(cluster)
    rows = store.versions(subject)
    allowed = auth.may_write(auth.of_user(request.user), subject)
    context: dict[str, Any] = {
        "cluster": view.cluster,
        "subject": subject,
        "rows": rows,
        "allowed": allowed,
        "level": store.compatibility_level(subject),
        "problems": None,
        "invalid": "",
        "draft": "",
        "draft_type": rows[-1].schema.schema_type if rows else formats.AVRO,
    }
    if request.method == "POST":
        if not allowed:
            return forbidden(request, f"You may not register schemas for subject {subject}.")
        draft_type = request.POST.get("schema_type", formats.AVRO)
        draft = request.POST.get("schema", "")
        problems, invalid = _check(subject, draft_type, draft)
        context |= {
            "draft": draft,
            "draft_type": draft_type,
            "problems": problems,
            "invalid": invalid,
        }
        if request.POST.get("action") == "register" and not problems and not invalid:
            try:
                row = store.register(subject, store.Candidate(draft_type, draft, []))
            except errors.RegistryError as exc:
                context["invalid"] = exc.message
            else:
                return redirect(f"{request.path}?v={row.version}", permanent=False)
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
            "shown_text": _pretty(shown.schema.text, shown.schema.schema_type),
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


def _diff(old: Any, new: Any) -> list[str]:
    before = _pretty(old.schema.text, old.schema.schema_type).splitlines()
    after = _pretty(new.schema.text, new.schema.schema_type).splitlines()
    return list(
        difflib.unified_diff(before, after, f"v{old.version}", f"v{new.version}", lineterm="")
    )
