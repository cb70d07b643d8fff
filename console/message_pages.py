"""Reading one page of the message browser: where each partition starts, what is read,
and the page made of it.

Owns the browser's trip through the gateway: the topic's partitions (checked against the
ones asked for), their kept ranges, the start position (`console.positions`, with one
lookup by time where the position is a time), the reads themselves
(`console.kafka.records.read_partitions`) within the query's budgets, then the paging
(`console.browse.paged`). It must never wait without a bound: a read stops at its byte and
time budgets and says so in `Page.stopped`, because "no messages" must only ever mean
there were none; and it never joins a consumer group nor commits an offset.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from console import positions
from console.browse import POSITION_MODE, Budget, Page, Query, paged
from console.kafka import metadata, offsets, records
from console.kafka.config import ClusterConfig


def browse(
    cluster: ClusterConfig,
    query: Query,
    *,
    clock: Callable[[], float] = time.monotonic,
    now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
) -> Page:
    """Read one page of `query.topic`. Raises ClusterError or InputError, readable."""
    budget = Budget(query.byte_budget, query.time_budget, clock)
    existing = metadata.partitions_of(cluster, query.topic)
    partitions = metadata.check_partitions(query.topic, existing, query.partitions)
    tps = [(query.topic, p) for p in partitions]
    kept = offsets.ranges(cluster, tps)
    marks = {p: kept[(query.topic, p)] for p in partitions}
    if query.cursor is not None:
        bounds = {p: query.cursor.get(p, marks[p][1]) for p in partitions}
        backward = query.backward
    else:
        spec = positions.Spec(POSITION_MODE[query.start], query.start_value)
        when = spec.time_ms(now_ms())
        by_time = (
            offsets.lookup(cluster, tps, when, what="offsets by time") if when is not None else None
        )
        starts = {tp: low for tp, (low, _) in kept.items()}
        ends = {tp: high for tp, (_, high) in kept.items()}
        targets, _ = positions.targets(spec, tps, starts, ends, by_time=by_time)
        bounds = {tp[1]: o for tp, o in targets.items()}
        backward = query.start == "newest"
    bounds = {p: min(max(o, marks[p][0]), marks[p][1]) for p, o in bounds.items()}
    # Forward reads run from the bound to the log end; backward ones from the bound
    # towards the log start.
    spans = {p: (bounds[p], marks[p][0] if backward else marks[p][1]) for p in partitions}
    found, reached = records.read_partitions(
        cluster,
        query.topic,
        spans,
        backward=backward,
        keep=query.filter.matches,
        want=query.limit,
        budget=budget,
    )
    return paged(query, partitions, marks, bounds, backward, found, reached, budget)
