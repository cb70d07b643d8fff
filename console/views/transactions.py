"""The Transactions page of a cluster: open transactions, the hanging ones flagged.

Owns the request/response side: reading the open transactions through
`console.kafka.transactions`, judging them with `console.txn_state` at the request's time,
and rendering. It must never talk to Kafka except through `console.kafka`, and never
change a transaction.
"""

from __future__ import annotations

import time

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from console import txn_state
from console.kafka import transactions as kt
from console.kafka.errors import ClusterError
from console.views.clusters import cluster_or_404


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
