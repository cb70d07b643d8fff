"""The lag sampler: measure every group of a cluster, store the numbers, judge the alerts.

Owns one sampling pass (`sample_cluster`) and pruning old samples (`prune`). The loop and
its interval live in the `sample_lag` management command, so any process manager can run
it. It must never change a group; time comes in as an argument so tests choose it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from console.clusters import ClusterConfig
from console.kafka import groups
from console.kafka.errors import ClusterError
from console.lag import alerts, measure
from console.lag.arithmetic import GroupLag
from console.lag.models import CommitSeen, GroupSample, PartitionSample

log = logging.getLogger(__name__)

# Longer group ids (Kafka allows them) do not fit the sample tables; such a group's lag is
# still shown live on its page, only its history is not kept.
STORED_ID_MAX = GroupSample._meta.get_field("group").max_length or 255


def sample_cluster(
    cluster: ClusterConfig,
    now: datetime,
    *,
    webhook_timeout: float = alerts.WEBHOOK_TIMEOUT,
) -> list[GroupLag]:
    """Measure every group (share groups too) once, store the samples, and raise or clear
    alerts."""
    now_ms = int(now.timestamp() * 1000)
    lags = measure.all_groups_lag(cluster, now_ms=now_ms)
    unmeasured: set[str] = set()
    try:
        lags += measure.all_share_groups_lag(cluster, now_ms=now_ms)
    except ClusterError as exc:
        # Consumer groups are still worth sampling when share groups cannot be described
        # (an ACL on one of them); the share groups' alerts keep their last state.
        log.warning("cluster %s: share groups not sampled: %s", cluster.slug, exc)
        unmeasured = {g.group_id for g in groups.list_share_groups(cluster)}
    storable = [g for g in lags if len(g.description.group_id) <= STORED_ID_MAX]
    if len(storable) < len(lags):
        log.info(
            "cluster %s: %d group(s) with ids over %d characters are not sampled",
            cluster.slug,
            len(lags) - len(storable),
            STORED_ID_MAX,
        )
    store(cluster.slug, storable, now)
    alerts.evaluate(
        cluster.slug,
        {g.description.group_id: g for g in lags},
        now,
        timeout=webhook_timeout,
        unmeasured=unmeasured,
    )
    return lags


def store(slug: str, lags: list[GroupLag], now: datetime) -> None:
    group_rows, partition_rows = [], []
    for g in lags:
        gid = g.description.group_id
        group_rows.append(
            GroupSample(
                cluster=slug,
                group=gid,
                at=now,
                lag=g.total_lag,
                lag_ms=g.max_lag_ms,
                committed_sum=g.done_sum,
                end_sum=sum(max(p.end, 0) for p in g.partitions),
                partitions=len(g.partitions),
            )
        )
        partition_rows += [
            PartitionSample(
                cluster=slug,
                group=gid,
                topic=p.topic,
                partition=p.partition,
                at=now,
                committed=p.committed,
                end=p.end,
                lag=p.lag,
                lag_ms=p.lag_ms,
            )
            for p in g.partitions
        ]
    GroupSample.objects.bulk_create(group_rows)
    PartitionSample.objects.bulk_create(partition_rows, batch_size=500)
    _note_commits(slug, lags, now)


def _note_commits(slug: str, lags: list[GroupLag], now: datetime) -> None:
    seen = {(c.group, c.topic, c.partition): c for c in CommitSeen.objects.filter(cluster=slug)}
    new, moved = [], []
    for g in lags:
        gid = g.description.group_id
        for p in g.partitions:
            if p.committed is None:
                continue
            row = seen.get((gid, p.topic, p.partition))
            if row is None:
                new.append(
                    CommitSeen(
                        cluster=slug,
                        group=gid,
                        topic=p.topic,
                        partition=p.partition,
                        committed=p.committed,
                        changed_at=now,
                    )
                )
            elif row.committed != p.committed:
                row.committed, row.changed_at = p.committed, now
                moved.append(row)
    CommitSeen.objects.bulk_create(new, batch_size=500)
    CommitSeen.objects.bulk_update(moved, ["committed", "changed_at"], batch_size=500)


def prune(older_than: datetime) -> int:
    """Delete samples taken before `older_than`; returns how many rows went."""
    n_groups, _ = GroupSample.objects.filter(at__lt=older_than).delete()
    n_parts, _ = PartitionSample.objects.filter(at__lt=older_than).delete()
    return n_groups + n_parts
