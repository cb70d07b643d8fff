"""Reading lag history back: trends, rates, last commits, replay progress after a reset.

Owns the arithmetic over stored samples (`console.lag.models`) and the current
measurement. It must never call a cluster: views pass the live numbers in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from console.kafka.model import TP
from console.lag.arithmetic import GroupLag
from console.lag.models import CommitSeen, GroupSample, ResetRecord

TREND_WINDOW = timedelta(minutes=5)
RATE_WINDOW = timedelta(minutes=5)


def trend(cluster: str, group: str, lag_now: int, now: datetime) -> str:
    """ "up", "down" or "flat": now against the sample closest to five minutes ago."""
    past = (
        GroupSample.objects.filter(cluster=cluster, group=group, at__lte=now - TREND_WINDOW)
        .order_by("-at")
        .first()
    ) or GroupSample.objects.filter(cluster=cluster, group=group).order_by("at").first()
    if past is None or past.lag == lag_now:
        return "flat"
    return "up" if lag_now > past.lag else "down"


def trends(cluster: str, lags: dict[str, int], now: datetime) -> dict[str, str]:
    return {g: trend(cluster, g, lag, now) for g, lag in lags.items()}


@dataclass(frozen=True)
class Rates:
    consume: float | None  # records per second the group commits past
    produce: float | None  # records per second arriving on its partitions


def rates(cluster: str, group: str, now: datetime) -> Rates:
    """Rates over the last samples in RATE_WINDOW (the two ends of that window)."""
    recent = list(
        GroupSample.objects.filter(cluster=cluster, group=group, at__gte=now - RATE_WINDOW)
        .order_by("at")
        .values("at", "committed_sum", "end_sum")
    )
    if len(recent) < 2:
        return Rates(None, None)
    first, last = recent[0], recent[-1]
    seconds = (last["at"] - first["at"]).total_seconds()
    if seconds <= 0:
        return Rates(None, None)
    return Rates(
        consume=max(0.0, (last["committed_sum"] - first["committed_sum"]) / seconds),
        produce=max(0.0, (last["end_sum"] - first["end_sum"]) / seconds),
    )


def series(
    cluster: str, group: str, since: datetime
) -> tuple[list[tuple[float, float]], list[tuple[float, float]], list[tuple[float, float]]]:
    """Lag, consume rate and produce rate over time, from the stored group samples."""
    rows = list(
        GroupSample.objects.filter(cluster=cluster, group=group, at__gte=since)
        .order_by("at")
        .values_list("at", "lag", "committed_sum", "end_sum")
    )
    lag = [(at.timestamp(), float(v)) for at, v, _, _ in rows]
    consume, produce = [], []
    for (a0, _, c0, e0), (a1, _, c1, e1) in pairwise(rows):
        dt = (a1 - a0).total_seconds()
        if dt > 0:
            consume.append((a1.timestamp(), max(0.0, (c1 - c0) / dt)))
            produce.append((a1.timestamp(), max(0.0, (e1 - e0) / dt)))
    return lag, consume, produce


def last_commits(cluster: str, group: str) -> dict[TP, datetime]:
    return {
        (c.topic, c.partition): c.changed_at
        for c in CommitSeen.objects.filter(cluster=cluster, group=group)
    }


@dataclass(frozen=True)
class Progress:
    record: ResetRecord
    done: int
    total: int
    percent: float
    eta_seconds: float | None


def replay_progress(
    cluster: str, lag: GroupLag, rate: Rates, now: datetime, within: timedelta = timedelta(days=2)
) -> Progress | None:
    """How far the group has caught up since its latest reset (None without a recent one).

    Done counts records consumed between each partition's new offset and the log end at
    reset time; the ETA divides today's lag by how fast the group gains on the producers.
    """
    record = (
        ResetRecord.objects.filter(cluster=cluster, group=lag.description.group_id)
        .filter(at__gte=now - within)
        .first()
    )
    if record is None:
        return None
    committed = {(p.topic, p.partition): p.committed for p in lag.partitions}
    done = 0
    for row in record.rows:
        now_at = committed.get((row["topic"], row["partition"]))
        if now_at is not None:
            done += max(0, min(now_at, row["end"]) - row["after"])
    total = record.lag_at_reset
    percent = 100.0 if total <= 0 else min(100.0, 100.0 * done / total)
    gain = (rate.consume or 0.0) - (rate.produce or 0.0)
    eta = lag.total_lag / gain if gain > 0 and lag.total_lag > 0 else None
    if lag.total_lag == 0:
        eta = 0.0
    return Progress(record, done, total, percent, eta)
