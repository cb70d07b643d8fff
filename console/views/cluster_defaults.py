"""The "Cluster-wide defaults" section of the brokers page: the broker configs every broker
of a cluster uses unless it sets its own (`kafka-configs.sh --entity-default`), setting
one, removing one.

Owns the section's context (also rendered inside the brokers page), its own page for a
form that failed without htmx, refusing everyone but administrators on every changing path
(plain and htmx), the cluster's refusal as a form error in Kafka's words, and the audit
entry after each change. It must never reach the cluster except through
`console.kafka.cluster_defaults`, never judge a name or value the cluster will judge, and
never show or audit a value the cluster hides.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from console import audit
from console.forms import BrokerDefaultForm
from console.kafka import cluster_defaults
from console.kafka.cluster_defaults import Default
from console.kafka.config import ClusterConfig
from console.kafka.errors import ClusterError, Refused
from console.permissions import is_admin
from console.views import HtmxHttpRequest, error_fragment
from console.views.clusters import cluster_or_404, forbidden

PAGE = "console/brokers/defaults.html"
SECTION = "console/brokers/_defaults.html"
ACTION = "broker.default_config"  # beside "broker.config", a per-broker change
TARGET = "cluster-wide defaults"
REFUSAL = "Only administrators change a cluster's default broker configs."
HIDDEN = "(hidden)"


def section(
    request: HtmxHttpRequest,
    config: ClusterConfig,
    form: BrokerDefaultForm | None = None,
    outcome: dict[str, str] | None = None,
    rows: list[Default] | None = None,
    ask: bool = True,
) -> dict[str, Any]:
    """The section's context; `rows` when already known, `ask` False to leave the cluster
    alone (the page already found it unreachable)."""
    error = "" if ask or rows is not None else "the cluster did not answer."
    if rows is None:
        rows = []
        try:
            if ask:
                rows = cluster_defaults.describe(config)
        except ClusterError as exc:
            error = str(exc)
    return {
        "defaults": rows,
        "defaults_error": error,
        "defaults_form": form or BrokerDefaultForm(),
        "defaults_outcome": outcome,
        "can_change": is_admin(request.user),
    }


@require_GET
def default_list(request: HtmxHttpRequest, cluster: str) -> HttpResponse:
    """The section alone (htmx) or on a page of its own."""
    config = cluster_or_404(cluster)
    return _render(request, config, section(request, config))


@require_POST
def default_set(request: HtmxHttpRequest, cluster: str) -> HttpResponse:
    config = cluster_or_404(cluster)
    if not is_admin(request.user):
        return forbidden(request, REFUSAL)
    form = BrokerDefaultForm(request.POST)
    if not form.is_valid():
        return _render(request, config, section(request, config, form), status=400)
    name, value = form.cleaned_data["config"], form.cleaned_data["value"]
    try:
        before = _value(cluster_defaults.describe(config), name)
        rows = cluster_defaults.alter(config, name, value)
    except ClusterError as exc:
        # Kafka's refusal ("Invalid value -3 for configuration ...") is the form's.
        form.add_error(None, str(exc))
        status = 400 if isinstance(exc, Refused) else 502
        return _render(request, config, section(request, config, form), status=status)
    after = _value(rows, name)
    audit.record(request.user, ACTION, cluster, TARGET, before={name: before}, after={name: after})
    text = f"Every broker now uses {name} = {after} unless it sets its own."
    if request.htmx:
        outcome = {"text": text, "level": "success"}
        return _render(request, config, section(request, config, outcome=outcome, rows=rows))
    messages.success(request, text)
    return redirect(reverse("broker_index", kwargs={"cluster": cluster}) + "#cluster-defaults")


@require_POST
def default_remove(request: HtmxHttpRequest, cluster: str) -> HttpResponse:
    """Remove one default (htmx swaps the section; a plain form is redirected)."""
    config = cluster_or_404(cluster)
    if not is_admin(request.user):
        return forbidden(request, REFUSAL)
    name = request.POST.get("config", "").strip()
    if not name:
        return _removed(request, config, "That names no config.", "error", 400)
    try:
        rows = cluster_defaults.describe(config)
        listed = any(n == name for n, _ in rows)
        before = _value(rows, name)
        if listed:
            rows = cluster_defaults.alter(config, name, None)
    except ClusterError as exc:
        return _removed(
            request, config, str(exc), "error", 400 if isinstance(exc, Refused) else 502
        )
    if not listed:
        return _removed(request, config, f"Nothing to remove: no cluster-wide {name}.", "info")
    audit.record(
        request.user,
        ACTION,
        cluster,
        TARGET,
        before={name: before},
        after={name: None},
        detail="cluster-wide default removed",
    )
    text = (
        f"Removed the cluster-wide {name} (it was {before}): each broker's own value, or "
        "Kafka's default, applies again."
    )
    return _removed(request, config, text, "success", rows=rows)


def _value(rows: list[Default], name: str) -> str | None:
    """What the audit and messages may say of `name`: its value, hidden if sensitive, None
    when the cluster has no such default."""
    for listed, value in rows:
        if listed == name:
            return HIDDEN if value is None else value
    return None


def _removed(
    request: HtmxHttpRequest,
    config: ClusterConfig,
    text: str,
    level: str,
    status: int = 200,
    rows: list[Default] | None = None,
) -> HttpResponse:
    """The outcome of a removal: `text` at `level` ("success", "info" or "error")."""
    if request.htmx:
        outcome = {"text": text, "level": level}
        return _render(
            request, config, section(request, config, outcome=outcome, rows=rows), status
        )
    {"success": messages.success, "info": messages.info}.get(level, messages.error)(request, text)
    return redirect(reverse("broker_index", kwargs={"cluster": config.slug}) + "#cluster-defaults")


def _render(
    request: HtmxHttpRequest, config: ClusterConfig, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context = {"cluster": config, **context}
    if request.htmx:
        response = render(request, SECTION, context, status=status)
        # htmx swaps only 2xx answers: an error answer is marked to be swapped all the same.
        return error_fragment(response) if status >= 400 else response
    return render(request, PAGE, context, status=status)
