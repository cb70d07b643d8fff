"""Broker pages: the list of brokers (with the cluster-wide defaults section of
`console.views.cluster_defaults`), every config of one broker by source, runtime changes.

Owns the request/response side of a broker's configs: filtering by source and name, the
inline editor, the admin check before each change, refusing read-only configs before
asking the cluster, and the audit entry after a change. It must never talk to Kafka except
through `console.kafka.brokers` and `console.kafka.cluster_info` (the cluster-wide
defaults through their own view module), and never show a sensitive value (nor audit one).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from console import audit
from console.inputs import InputError, parse_config
from console.kafka import brokers, cluster_info
from console.kafka.errors import ClusterError, NotFound
from console.kafka.model import BrokerConfig
from console.permissions import is_admin
from console.views import HtmxHttpRequest, cluster_defaults, error_fragment
from console.views.clusters import cluster_or_404, forbidden

ORIGINS = {
    "default": "Kafka's default",
    "static": "set in the broker's file or command line",
    "dynamic": "changed at runtime",
}
ROW = "console/brokers/_config_row.html"


@require_GET
def broker_index(request: HtmxHttpRequest, cluster: str) -> HttpResponse:
    """Every broker: address, rack, controller, partitions led and held, disk use per log
    directory, and whether it answers; each links to its configs. Below them, the
    cluster-wide defaults every broker uses unless it sets its own."""
    config = cluster_or_404(cluster)
    error = ""
    views: list[cluster_info.BrokerView] = []
    try:
        views = cluster_info.brokers(config)
    except ClusterError as exc:
        error = str(exc)
    down = [v for v in views if not v.reachable]
    # An unreachable cluster is not asked twice (each try waits its whole timeout).
    defaults = cluster_defaults.section(request, config, ask=not error)
    return render(
        request,
        "console/brokers/index.html",
        {"cluster": config, "cluster_error": error, "brokers": views, "down": down, **defaults},
    )


@require_GET
def broker_configs(request: HtmxHttpRequest, cluster: str, node_id: int) -> HttpResponse:
    config = cluster_or_404(cluster)
    origin = request.GET.get("source", "")
    origin = origin if origin in ORIGINS else ""
    query = request.GET.get("q", "").strip()
    error = ""
    ids: list[int] = []
    items: list[BrokerConfig] = []
    try:
        ids = brokers.broker_ids(config)
        items = brokers.describe(config, node_id)
    except NotFound as exc:
        raise Http404(str(exc)) from None
    except ClusterError as exc:
        error = str(exc)
    counts = {key: sum(1 for c in items if c.origin == key) for key in ORIGINS}
    shown = [
        c
        for c in items
        if (not origin or c.origin == origin) and (not query or query.lower() in c.name.lower())
    ]
    return render(
        request,
        "console/brokers/configs.html",
        {
            "cluster": config,
            "cluster_error": error,
            "node_id": node_id,
            "broker_ids": ids,
            "configs": shown,
            "origins": [(key, label, counts[key]) for key, label in ORIGINS.items()],
            "origin": origin,
            "q": query,
            "can_change": is_admin(request.user),
        },
    )


@require_http_methods(["GET", "POST"])
def broker_config(request: HtmxHttpRequest, cluster: str, node_id: int, name: str) -> HttpResponse:
    """GET (htmx): the inline editor for one config. POST: set it at runtime to `value`,
    or remove its runtime value when `revert` is sent."""
    config = cluster_or_404(cluster)
    if not is_admin(request.user):
        return forbidden(request, f"Only administrators change the configs of broker {node_id}.")
    try:
        item = brokers.config_of(config, node_id, name)
    except NotFound as exc:
        raise Http404(str(exc)) from None
    except ClusterError as exc:
        return _refusal(request, config, node_id, None, str(exc))
    if item is None:
        raise Http404(f"Broker {node_id} has no config called {name!r}.")
    if item.read_only:
        return _refusal(
            request,
            config,
            node_id,
            item,
            f"{name} cannot change while broker {node_id} runs: it is read from the "
            "broker's file or command line at start. Change it there and restart the broker.",
        )
    context = {"cluster": config, "node_id": node_id, "can_change": True}
    if request.method == "GET":
        return render(request, ROW, {**context, "c": item, "editing": True})
    raw = request.POST.get("value", "").strip()
    revert = "revert" in request.POST
    if not raw and not revert:
        # An empty box is no answer: a sensitive value is never shown, so its box starts
        # empty, and saving it untouched must not remove anything.
        return _refusal(
            request,
            config,
            node_id,
            item,
            f"{name} unchanged: type its new value, or press Revert to remove its runtime value.",
        )
    try:
        value = None if revert else parse_config(name, raw)
        after = brokers.alter(config, node_id, name, value)
    except InputError as exc:
        return _refusal(request, config, node_id, item, f"{name} unchanged: {exc}")
    except ClusterError as exc:
        return _refusal(request, config, node_id, item, str(exc))
    audit.record(
        request.user,
        "broker.config",
        cluster,
        f"broker {node_id}",
        before=_audited(item),
        after=_audited(after),
        detail="runtime value removed" if revert else "",
    )
    if request.htmx:
        return render(request, ROW, {**context, "c": after, "saved": True})
    shown = "(hidden)" if after.sensitive else after.value
    messages.success(request, f"{name} of broker {node_id} is now {shown}.")
    return redirect("broker_configs", cluster=cluster, node_id=node_id)


def _audited(item: BrokerConfig) -> dict[str, Any]:
    return {
        item.name: "(hidden)" if item.sensitive else item.value,
        "source": item.source,
    }


def _refusal(
    request: HtmxHttpRequest,
    config: Any,
    node_id: int,
    item: BrokerConfig | None,
    message: str,
) -> HttpResponse:
    if request.htmx:
        if item is None:
            return error_fragment(
                render(request, "console/_action_error.html", {"message": message}, status=502)
            )
        # htmx swaps only 2xx answers: the row comes back with the reason under it.
        return render(
            request,
            ROW,
            {
                "cluster": config,
                "node_id": node_id,
                "c": item,
                "editing": not item.read_only,
                "error": message,
                "can_change": True,
            },
        )
    messages.error(request, message)
    return redirect("broker_configs", cluster=config.slug, node_id=node_id)
