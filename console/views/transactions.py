"""The Transactions page of a cluster: open transactions, the hanging ones flagged.

Owns the request/response side: reading the open transactions through
`console.kafka.transactions`, judging them with `console.txn_state` at the request's time,
and rendering; an administrator's abort after its preview, audited. It must never talk to
Kafka except through `console.kafka`.
"""

from __future__ import annotations

import time

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from console import audit, txn_state
from console.kafka import transactions as kt
from console.kafka import txn_abort
from console.kafka.errors import ClusterError
from console.permissions import is_admin
from console.views.clusters import cluster_or_404, forbidden


@require_GET
def transaction_list(request: HttpRequest, cluster: str) -> HttpResponse:
    config = cluster_or_404(cluster)
    error = ""
    view = kt.TransactionsView()
    try:
        view = kt.open_transactions(config)
    except ClusterError as exc:
        error = str(exc)
    rows = txn_state.rows(view.transactions, view.offsets, int(time.time() * 1000))
    can_abort = False
    if rows and is_admin(request.user):
        try:
            can_abort = txn_abort.supported(config)
        except ClusterError as exc:
            error = str(exc)
    return render(
        request,
        "console/transactions/list.html",
        {
            "cluster": config,
            "cluster_error": error,
            "rows": [
                (r, [(t, p, view.offsets.get((t, p))) for t, p in r.txn.partitions]) for r in rows
            ],
            "hanging": sum(1 for r in rows if r.hanging),
            "warnings": view.warnings,
            "can_abort": can_abort,
        },
    )


@require_GET
def topic_stable(request: HttpRequest, cluster: str, topic: str) -> HttpResponse:
    """The topic page's fragment: partitions whose last stable offset is behind the end.
    The open transactions are read only when some partition is held back, for their age."""
    config = cluster_or_404(cluster)
    notes: dict[kt.TP, str] = {}
    offsets: dict[kt.TP, kt.StableOffsets] = {}
    error = ""
    try:
        offsets = kt.topic_stable_offsets(config, topic)
        if any(o.held_back for o in offsets.values()):
            view = kt.open_transactions(config)
            mine = [t for t in view.transactions if any(tp[0] == topic for tp in t.partitions)]
            notes = txn_state.partition_notes(offsets, mine, int(time.time() * 1000))
    except ClusterError as exc:
        error = str(exc)
    return render(
        request,
        "console/transactions/_topic_stable.html",
        {
            "cluster": config,
            "error": error,
            "rows": [(tp[1], offsets[tp], note) for tp, note in notes.items()],
        },
    )


@require_http_methods(["GET", "POST"])
def transaction_abort(request: HttpRequest, cluster: str, transactional_id: str) -> HttpResponse:
    """GET: what aborting would do. POST: write the abort markers, then audit. Admins only."""
    config = cluster_or_404(cluster)
    if not is_admin(request.user):
        return forbidden(request, "Only administrators abort transactions.")
    try:
        view = kt.open_transactions(config)
        able = txn_abort.supported(config)
    except ClusterError as exc:
        return forbidden(request, f"Could not read the transaction: {exc}")
    now = int(time.time() * 1000)
    row = next(
        (
            r
            for r in txn_state.rows(view.transactions, view.offsets, now)
            if r.txn.transactional_id == transactional_id
        ),
        None,
    )
    if row is None:
        raise Http404(f"No open transaction {transactional_id!r} on {cluster}.")
    context = {
        "cluster": config,
        "row": row,
        "parts": [(t, p, view.offsets.get((t, p))) for t, p in row.txn.partitions],
        "supported": able,
    }
    if request.method == "GET":
        return render(request, "console/transactions/abort.html", context)
    if not able:
        return render(request, "console/transactions/abort.html", context, status=409)
    t = row.txn
    try:
        refused = txn_abort.abort(config, t.producer_id, t.producer_epoch, list(t.partitions))
    except ClusterError as exc:
        context["error"] = str(exc)
        return render(request, "console/transactions/abort.html", context, status=502)
    audit.record(
        request.user,
        "transaction.abort",
        cluster,
        transactional_id,
        before={
            "producer_id": t.producer_id,
            "producer_epoch": t.producer_epoch,
            "state": t.state,
            "records_held_back": row.held_back,
        },
        after={"refused": {f"{tp[0]}[{tp[1]}]": e for tp, e in refused.items()}},
        detail=", ".join(f"{tp[0]}[{tp[1]}]" for tp in t.partitions),
    )
    if refused:
        messages.error(request, f"Some partitions refused the abort marker: {refused}")
    else:
        messages.success(
            request,
            f"Aborted {transactional_id}: its records are skipped by read_committed consumers.",
        )
    return redirect("transactions", cluster=cluster)
