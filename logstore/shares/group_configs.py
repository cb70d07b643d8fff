"""Share-group configs (the GROUP config resource): names, defaults and Kafka's checks.

Owns which `share.*` keys a group accepts, how their text values are validated against the
broker-wide bounds (`GroupSettings`), and the effective value of each for one group. It
must never store anything: the coordinator keeps each group's overrides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from logstore.groups.settings import GroupSettings

INVALID_CONFIG = 40
AUTO_OFFSET_RESET = "share.auto.offset.reset"
LOCK_DURATION = "share.record.lock.duration.ms"
DELIVERY_LIMIT = "share.delivery.count.limit"
SESSION_TIMEOUT = "share.session.timeout.ms"
HEARTBEAT_INTERVAL = "share.heartbeat.interval.ms"
ISOLATION_LEVEL = "share.isolation.level"
NAMES = (
    AUTO_OFFSET_RESET,
    LOCK_DURATION,
    DELIVERY_LIMIT,
    SESSION_TIMEOUT,
    HEARTBEAT_INTERVAL,
    ISOLATION_LEVEL,
)
READ_UNCOMMITTED, READ_COMMITTED = "read_uncommitted", "read_committed"
BY_DURATION = "by_duration:"
# Java's Duration.parse subset Kafka documents for by_duration: PnDTnHnMn.nS.
_DURATION = re.compile(
    r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?", re.IGNORECASE
)


class GroupConfigRefused(Exception):
    def __init__(self, message: str, code: int = INVALID_CONFIG) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class EffectiveConfig:
    auto_offset_reset: str
    lock_duration_ms: int
    delivery_limit: int
    session_timeout_ms: int
    heartbeat_interval_ms: int
    # read_committed: acquisition stops at the last stable offset and skips aborted data.
    read_committed: bool = False


def defaults(settings: GroupSettings) -> dict[str, str]:
    """Each config's value when a group does not override it."""
    return {
        AUTO_OFFSET_RESET: "latest",
        LOCK_DURATION: str(settings.share_record_lock_duration_ms),
        DELIVERY_LIMIT: str(settings.share_delivery_count_limit),
        SESSION_TIMEOUT: str(settings.share_session_timeout_ms),
        HEARTBEAT_INTERVAL: str(settings.share_heartbeat_interval_ms),
        ISOLATION_LEVEL: READ_UNCOMMITTED,
    }


def _bounded(name: str, raw: str, low: int, high: int) -> None:
    try:
        value = int(raw.strip())
    except ValueError:
        raise GroupConfigRefused(
            f"Invalid value {raw} for configuration {name}: Not a number of type INT"
        ) from None
    if not low <= value <= high:
        raise GroupConfigRefused(
            f"Invalid value {value} for configuration {name}: "
            f"Value must be between {low} and {high}"
        )


def validate(settings: GroupSettings, name: str, value: str) -> None:
    """Raise GroupConfigRefused (Kafka's INVALID_CONFIG) for an unknown key or bad value."""
    if name == AUTO_OFFSET_RESET:
        ok = value in ("earliest", "latest") or by_duration_ms(value) is not None
        if not ok:
            raise GroupConfigRefused(
                f"Invalid value {value} for configuration {name}: "
                "[earliest, latest, by_duration:PnDTnHnMn.nS]"
            )
    elif name == LOCK_DURATION:
        low, high = (
            settings.share_min_record_lock_duration_ms,
            (settings.share_max_record_lock_duration_ms),
        )
        _bounded(name, value, low, high)
    elif name == DELIVERY_LIMIT:
        low, high = (
            settings.share_min_delivery_count_limit,
            (settings.share_max_delivery_count_limit),
        )
        _bounded(name, value, low, high)
    elif name == ISOLATION_LEVEL:
        if value not in (READ_COMMITTED, READ_UNCOMMITTED):
            raise GroupConfigRefused(
                f"Invalid value {value} for configuration {name}: "
                f"String must be one of: {READ_COMMITTED}, {READ_UNCOMMITTED}"
            )
    elif name in (SESSION_TIMEOUT, HEARTBEAT_INTERVAL):
        _bounded(name, value, 1, 2**31 - 1)
    else:
        raise GroupConfigRefused(f"Unknown group config name: {name}")


def by_duration_ms(value: str) -> int | None:
    """The duration of a `by_duration:PnDTnHnMn.nS` reset in ms, None if it is not one."""
    if not value.lower().startswith(BY_DURATION):
        return None
    text = value[len(BY_DURATION) :]
    match = _DURATION.fullmatch(text)
    if match is None or not any(match.groups()) or text.upper().endswith("T"):
        return None
    days, hours, minutes, seconds = (g or "0" for g in match.groups())
    return round(
        ((int(days) * 24 + int(hours)) * 60 + int(minutes)) * 60_000 + float(seconds) * 1000
    )


def effective(settings: GroupSettings, overrides: dict[str, str]) -> EffectiveConfig:
    values = defaults(settings) | overrides
    return EffectiveConfig(
        auto_offset_reset=values[AUTO_OFFSET_RESET],
        lock_duration_ms=int(values[LOCK_DURATION]),
        delivery_limit=int(values[DELIVERY_LIMIT]),
        session_timeout_ms=int(values[SESSION_TIMEOUT]),
        heartbeat_interval_ms=int(values[HEARTBEAT_INTERVAL]),
        read_committed=values[ISOLATION_LEVEL] == READ_COMMITTED,
    )
