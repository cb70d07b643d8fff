"""The Client quotas page of a cluster: every quota by entity (user, client id, both, ip),
setting one key of one entity, removing one.

Owns the request/response side: refusing everyone but administrators on every path (page,
form, plain and htmx remove), the forms, the cluster's refusal of a value (Kafka's own
message) as a form error, and the audit entry after each change. It must never reach the
cluster except through `console.kafka.client_quotas`, nor judge a value the cluster will
judge.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from console import audit, client_quota_terms
from console.kafka import client_quotas
from console.kafka.client_quotas import Entity
from console.kafka.config import ClusterConfig
from console.kafka.errors import ClusterError, Refused
from console.permissions import is_admin
from console.security_forms import ClientQuotaForm, QuotaRemoveForm
from console.views import HtmxHttpRequest
from console.views.clusters import cluster_or_404, forbidden

PAGE = "console/security/quotas.html"
TABLE = "console/security/_quota_table.html"
REFUSAL = "Only administrators see and change a cluster's client quotas."


@require_GET
def quota_list(request: HtmxHttpRequest, cluster: str) -> HttpResponse:
    cluster_or_404(cluster)
    if not is_admin(request.user):
        return forbidden(request, REFUSAL)
    return _page(request, cluster, ClientQuotaForm())


@require_POST
def quota_set(request: HtmxHttpRequest, cluster: str) -> HttpResponse:
    config = cluster_or_404(cluster)
    if not is_admin(request.user):
        return forbidden(request, REFUSAL)
    form = ClientQuotaForm(request.POST)
    if not form.is_valid():
        return _page(request, cluster, form, status=400)
    entity, key, value = form.entity(), form.cleaned_data["key"], form.cleaned_data["value"]
    try:
        before = _current(config, entity, key)
        client_quotas.alter(config, entity, {key: value})
    except ClusterError as exc:
        # Kafka's refusal of a value ("... cannot be a fractional value.") is the form's.
        form.add_error(None, str(exc))
        return _page(request, cluster, form, status=400)
    label = client_quota_terms.entity_label(entity)
    audit.record(
        request.user,
        "quota.set",
        cluster,
        label,
        before={key: before},
        after={key: value},
        detail=client_quotas.shown(entity),
    )
    messages.success(request, f"{key} of {label} is now {client_quota_terms.readable(key, value)}.")
    return redirect("client_quotas", cluster=cluster)


@require_POST
def quota_remove(request: HtmxHttpRequest, cluster: str) -> HttpResponse:
    """Remove one key of one entity (htmx swaps the table; a plain form is redirected)."""
    config = cluster_or_404(cluster)
    if not is_admin(request.user):
        return forbidden(request, REFUSAL)
    form = QuotaRemoveForm(request.POST)
    if not form.is_valid():
        return _removed(request, config, "That names no quota: its entity or key is missing.")
    entity, key = form.entity(), form.cleaned_data["key"]
    label = client_quota_terms.entity_label(entity)
    try:
        before = _current(config, entity, key)
        if before is not None:
            client_quotas.alter(config, entity, {key: None})
    except ClusterError as exc:
        return _removed(request, config, str(exc))
    if before is None:
        return _removed(request, config, f"Nothing to remove: {label} has no {key}.", "info")
    audit.record(
        request.user,
        "quota.remove",
        cluster,
        label,
        before={key: before},
        detail=client_quotas.shown(entity),
    )
    shown = client_quota_terms.readable(key, before)
    return _removed(request, config, f"Removed {key} of {label} (it was {shown}).", "success")


def _current(config: ClusterConfig, entity: Entity, key: str) -> float | None:
    """The value of `key` on `entity` now (the audit entry's "before")."""
    entity = client_quotas.canonical(entity)
    found = next((e for e in client_quotas.describe(config) if e.entity == entity), None)
    return None if found is None else found.values.get(key)


def _removed(
    request: HtmxHttpRequest, config: ClusterConfig, text: str, level: str = "error"
) -> HttpResponse:
    """The outcome of a removal: `text` at `level` ("success", "info" or "error")."""
    if request.htmx:
        # htmx swaps only 2xx answers: the table comes back with the outcome above it.
        outcome = {"text": text, "level": level}
        return _page(request, config.slug, ClientQuotaForm(), outcome=outcome, table_only=True)
    {"success": messages.success, "info": messages.info}.get(level, messages.error)(request, text)
    return redirect("client_quotas", cluster=config.slug)


def _page(
    request: HtmxHttpRequest,
    cluster: str,
    form: ClientQuotaForm,
    status: int = 200,
    outcome: dict[str, str] | None = None,
    table_only: bool = False,
) -> HttpResponse:
    config = cluster_or_404(cluster)
    error, refused, entries = "", False, []
    try:
        entries = client_quotas.describe(config)
    except ClusterError as exc:
        error, refused = str(exc), isinstance(exc, Refused)
    context = {
        "cluster": config,
        "cluster_error": error,
        "cluster_refused": refused,
        "rows": client_quota_terms.rows(entries),
        "form": form,
        "terms": client_quota_terms.TERMS,
        "outcome": outcome,
    }
    template = TABLE if table_only else PAGE
    return render(request, template, context, status=status)
