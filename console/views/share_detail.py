"""What a share group's page shows: members and their assignments, per share-partition the
start offset (SPSO), log end, records waiting and the oldest unacknowledged record's age,
the group's configs, acknowledgement and produce rates.

Owns turning a measured share group (`console.lag.measure.share_lag`) and the lag history
into the share detail template's context. It must never change a group, and reaches the
cluster only through `console.lag.measure` and `console.kafka` (shares, the share-state
topic, ReadShareGroupState).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest
from django.utils import timezone

from console import share_state
from console.browse import Budget
from console.clusters import ClusterConfig
from console.kafka import share_state_rpc, shares
from console.kafka.errors import ClusterError, NotFound
from console.kafka.share_state_topic import state_records
from console.lag import history, measure
from console.lag.arithmetic import GroupLag
from console.lag.models import LagAlert
from console.permissions import can_change_topic, is_admin
from console.views.group_detail import PARTITIONS_PER_PAGE, ranges

# What the in-flight section may spend reading Kafka's share-state topic per page view.
STATE_BYTES = 16 * 1024 * 1024
STATE_SECONDS = 3.0
ARCHIVED_SHOWN = 50

_ORDERS: dict[str, Any] = {
    "lag": lambda p: (-(p.lag or 0), p.topic, p.partition),
    "partition": lambda p: (p.topic, p.partition),
}


def share_topics(cfg: ClusterConfig, group: str) -> list[str]:
    """Topics the share group has state for or is assigned: what its team must own."""
    state = shares.describe_one(cfg, group)
    tps = set(state.starts) | {tp for m in state.description.members for tp in m.assignment}
    return sorted({t for t, _ in tps})


def may_manage(user: Any, topics: list[str], cluster: str) -> bool:
    """Admins, or whoever may change every topic the share group reads (and it reads one)."""
    return is_admin(user) or bool(
        topics and all(can_change_topic(user, cluster, t) for t in topics)
    )


def measured(cfg: ClusterConfig, group: str) -> GroupLag:
    return measure.share_lag(cfg, [group])[0]


def detail_context(request: HttpRequest, cfg: ClusterConfig, group: str) -> dict[str, Any]:
    now = timezone.now()
    context: dict[str, Any] = {
        "cluster": cfg,
        "group": group,
        "cluster_error": "",
        "missing": False,
    }
    try:
        lag = measured(cfg, group)
    except NotFound as exc:
        context.update(missing=True, cluster_error=str(exc))
        return context
    except ClusterError as exc:
        context["cluster_error"] = str(exc)
        return context
    members = lag.description.members
    readers: dict[tuple[str, int], int] = {}
    for m in members:
        for tp in m.assignment:
            readers[tp] = readers.get(tp, 0) + 1
    order = request.GET.get("order", "lag")
    parts = sorted(lag.partitions, key=_ORDERS.get(order, _ORDERS["lag"]))
    page = Paginator(parts, PARTITIONS_PER_PAGE).get_page(request.GET.get("page"))
    by_topic: dict[str, list[Any]] = {}
    for p in lag.partitions:
        by_topic.setdefault(p.topic, []).append(p)
    topic_rows = [
        {
            "topic": t,
            "partitions": len(ps),
            "lag": sum(p.lag or 0 for p in ps),
            "lag_ms": max((p.lag_ms for p in ps if p.lag_ms is not None), default=None),
        }
        for t, ps in sorted(by_topic.items())
    ]
    can_change = bool(lag.topics) and all(
        can_change_topic(request.user, cfg.slug, t) for t in lag.topics
    )
    context.update(
        lag=lag,
        rows=[{"p": p, "readers": readers.get((p.topic, p.partition), 0)} for p in page],
        page=page,
        order=order,
        topic_rows=topic_rows,
        members=[(m, ranges(m.assignment)) for m in members],
        rate=history.rates(cfg.slug, group, now),
        alert=LagAlert.objects.filter(cluster=cfg.slug, group=group).first(),
        can_change=can_change,
        manages=is_admin(request.user) or can_change,
    )
    return context


def _persisted_by_topic(
    cfg: ClusterConfig, group: str, budget: Budget
) -> tuple[dict[tuple[Any, int], share_state.Persisted], dict[str, Any], bool, int] | None:
    """Each share-partition's persisted state, the group's topic ids, whether everything
    was read and how many records could not be decoded, from Kafka's `__share_group_state`;
    None when the cluster has no such topic."""
    read = state_records(cfg, budget)
    if read is None:
        return None
    ids = shares.describe_one(cfg, group).topic_ids
    found, complete = read
    replayed = share_state.replay(found, group)
    return replayed.partitions, ids, complete, replayed.unreadable


def _persisted_by_request(
    cfg: ClusterConfig, group: str, lag: GroupLag
) -> tuple[dict[tuple[Any, int], share_state.Persisted], dict[str, Any]] | None:
    """The same through ReadShareGroupState, for a cluster without the topic (the bundled
    broker); None when the cluster serves neither."""
    ids = shares.describe_one(cfg, group).topic_ids
    wanted = [(ids[p.topic], p.partition) for p in lag.partitions if p.topic in ids]
    answered = share_state_rpc.read(cfg, group, wanted)
    if answered is None:
        return None
    persisted = {
        key: share_state.Persisted(start, [share_state.Span(*b) for b in batches])
        for key, (start, batches) in answered.items()
        if start >= 0
    }
    return persisted, ids


def in_flight_context(cfg: ClusterConfig, group: str, lag: GroupLag) -> dict[str, Any]:
    """Records in flight by persisted state, the delivery-count histogram and archived
    ranges, from Kafka's `__share_group_state` or, where the cluster has no such topic,
    from ReadShareGroupState; `available` False (with the reason) where neither can be read."""
    budget = Budget(STATE_BYTES, STATE_SECONDS, time.monotonic)
    complete, unreadable, source = True, 0, "topic"
    try:
        by_topic = _persisted_by_topic(cfg, group, budget)
        if by_topic is not None:
            persisted_all, ids, complete, unreadable = by_topic
        else:
            by_request = _persisted_by_request(cfg, group, lag)
            if by_request is None:
                return {"available": False, "reason": "no-topic"}
            persisted_all, ids = by_request
            source = "request"
    except ClusterError as exc:
        return {"available": False, "reason": f"Could not read the share group's state: {exc}"}
    rows: list[dict[str, Any]] = []
    histogram: dict[int, int] = {}
    archived: list[tuple[str, int, share_state.Span]] = []
    totals = {"acknowledged": 0, "archived": 0, "redelivery": 0, "untracked": 0}
    for p in sorted(lag.partitions, key=lambda p: (p.topic, p.partition)):
        topic_id = ids.get(p.topic)
        persisted = persisted_all.get((topic_id, p.partition)) if topic_id else None
        if persisted is None or p.end < 0:
            continue
        f = share_state.in_flight(persisted, p.end)
        rows.append({"p": p, "f": f})
        for name in totals:
            totals[name] += getattr(f, name)
        for count, n in f.deliveries.items():
            histogram[count] = histogram.get(count, 0) + n
        archived += [(p.topic, p.partition, s) for s in f.archived_spans]
    return {
        "available": True,
        "source": source,
        "complete": complete,
        "unreadable": unreadable,
        "rows": rows,
        "totals": totals,
        "histogram": sorted(histogram.items()),
        "histogram_max": max(histogram.values(), default=0),
        "archived": archived[:ARCHIVED_SHOWN],
        "archived_more": max(0, len(archived) - ARCHIVED_SHOWN),
    }
