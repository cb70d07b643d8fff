"""Lag alerts: decide from one measurement whether each group's alert fires or clears.

Owns the threshold rule, the state change, its audit entry and the JSON webhook's
payload (`console.webhooks` decides where it may go and sends it). It must
never measure lag itself (the sampler hands it `GroupLag`s) and never let a failing
webhook stop the other alerts: the error is kept on the alert for the page to show.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from console import audit, webhooks
from console.lag.arithmetic import GroupLag
from console.lag.models import LagAlert

log = logging.getLogger(__name__)
WEBHOOK_TIMEOUT = webhooks.TIMEOUT


@dataclass(frozen=True)
class Transition:
    alert: LagAlert
    firing: bool
    reason: str


def breach(alert: LagAlert, lag: int, lag_ms: int | None) -> str:
    """Why the alert should fire, in words; empty when lag is within its thresholds."""
    reasons = []
    if alert.max_lag_messages is not None and lag > alert.max_lag_messages:
        reasons.append(f"{lag:,} messages behind (threshold {alert.max_lag_messages:,})")
    if (
        alert.max_lag_seconds is not None
        and lag_ms is not None
        and lag_ms > alert.max_lag_seconds * 1000
    ):
        reasons.append(
            f"oldest unread record is {lag_ms // 1000:,} s old (threshold {alert.max_lag_seconds:,} s)"
        )
    return "; ".join(reasons)


def evaluate(
    cluster: str,
    lags: dict[str, GroupLag],
    now: datetime,
    *,
    timeout: float = WEBHOOK_TIMEOUT,
    unmeasured: Collection[str] = (),
) -> list[Transition]:
    """Judge every alert of `cluster` against this measurement; act on state changes.

    A group missing from `lags` (deleted, or no longer known) counts as not lagging,
    except the `unmeasured` ones (known, but not measured this time): their alerts stay.
    """
    changes = []
    for alert in LagAlert.objects.filter(cluster=cluster).exclude(group__in=unmeasured):
        g = lags.get(alert.group)
        lag = g.total_lag if g else 0
        lag_ms = g.max_lag_ms if g else None
        reason = breach(alert, lag, lag_ms)
        alert.last_lag, alert.last_lag_ms = lag, lag_ms
        firing = bool(reason)
        if firing == alert.firing:
            alert.save(update_fields=["last_lag", "last_lag_ms", "updated_at"])
            continue
        before = {"firing": alert.firing, "since": alert.since.isoformat() if alert.since else None}
        alert.firing, alert.since = firing, now
        if not firing:
            reason = f"lag recovered: {lag:,} messages behind"
        alert.last_webhook_error = _post(alert, reason, now, timeout) if alert.webhook_url else ""
        alert.save()
        audit.record(
            None,
            "lag_alert.raised" if firing else "lag_alert.cleared",
            cluster,
            f"group:{alert.group}",
            before=before,
            after={"firing": firing, "lag": lag, "lag_ms": lag_ms, "since": now.isoformat()},
            detail=reason,
        )
        changes.append(Transition(alert, firing, reason))
    return changes


def payload(alert: LagAlert, reason: str, now: datetime) -> dict[str, Any]:
    return {
        "event": "lag_alert.raised" if alert.firing else "lag_alert.cleared",
        "cluster": alert.cluster,
        "group": alert.group,
        "firing": alert.firing,
        "lag_messages": alert.last_lag,
        "lag_ms": alert.last_lag_ms,
        "max_lag_messages": alert.max_lag_messages,
        "max_lag_seconds": alert.max_lag_seconds,
        "reason": reason,
        "at": now.isoformat(),
    }


def _post(alert: LagAlert, reason: str, now: datetime, timeout: float) -> str:
    """POST the JSON payload through `console.webhooks`; the error text, empty on success."""
    error = webhooks.post_json(
        alert.webhook_url, json.dumps(payload(alert, reason, now)).encode(), timeout
    )
    if error:
        log.warning("lag alert webhook for %s failed: %s", alert, error)
    return error
