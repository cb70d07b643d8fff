"""The share-group config form's grammar: which values each editable key takes.

Owns checking what a person typed for `share.auto.offset.reset`,
`share.record.lock.duration.ms`, `share.delivery.count.limit` and `share.isolation.level`
before anything is sent, and working out the changes (set or back to default) against the
group's current overrides. The broker still judges its own bounds (e.g. the lock duration
between its `group.share.min/max.record.lock.duration.ms`) and its refusal is shown as
given. It must never talk to a cluster.
"""

from __future__ import annotations

import re

from console.inputs import InputError, parse_duration

AUTO_OFFSET_RESET = "share.auto.offset.reset"
LOCK_DURATION = "share.record.lock.duration.ms"
DELIVERY_LIMIT = "share.delivery.count.limit"
ISOLATION_LEVEL = "share.isolation.level"
EDITABLE = (AUTO_OFFSET_RESET, LOCK_DURATION, DELIVERY_LIMIT, ISOLATION_LEVEL)
INT_MAX = 2**31 - 1  # both numbers are Java ints

HELP = {
    AUTO_OFFSET_RESET: "where a share-partition without state starts: earliest, latest, "
    "or by_duration:PnDTnHnMnS (the first record that recent)",
    LOCK_DURATION: "how long a consumer holds a record before it is offered again (ms)",
    DELIVERY_LIMIT: "deliveries before a record is archived as undeliverable",
    ISOLATION_LEVEL: "read_uncommitted, or read_committed (skip aborted transactions)",
}

# ISO-8601 durations as Java's Duration.parse reads them (days, hours, minutes, seconds).
_DURATION = re.compile(
    r"P(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?", re.IGNORECASE
)


def check(name: str, value: str) -> str:
    """The value to send for `name`, normalised; InputError saying what is accepted."""
    value = value.strip()
    if name == AUTO_OFFSET_RESET:
        low = value.lower()
        if low in ("earliest", "latest"):
            return low
        if low.startswith("by_duration:"):
            duration = value.split(":", 1)[1].strip()
            if duration.upper() not in ("P", "PT") and _DURATION.fullmatch(duration):
                return f"by_duration:{duration.upper()}"
        raise InputError(
            f"{name} is earliest, latest or by_duration:<ISO-8601 duration> "
            f"(e.g. by_duration:PT1H), not {value!r}."
        )
    if name == LOCK_DURATION:
        ms = parse_duration(value)  # "30 s", "1 min" or plain milliseconds
        if ms > INT_MAX:
            raise InputError(f"{name} is at most {INT_MAX} ms.")
        return str(ms)
    if name == DELIVERY_LIMIT:
        if not re.fullmatch(r"\d{1,10}", value) or not 0 < int(value) <= INT_MAX:
            raise InputError(f"{name} is a positive whole number, not {value!r}.")
        return str(int(value))
    if name == ISOLATION_LEVEL:
        low = value.lower()
        if low in ("read_committed", "read_uncommitted"):
            return low
        raise InputError(f"{name} is read_committed or read_uncommitted, not {value!r}.")
    raise InputError(f"{name} cannot be changed from the console.")


def changes(submitted: dict[str, str], overrides: dict[str, str | None]) -> dict[str, str | None]:
    """{name: new value, or None to remove the group's own value} for what differs.

    `submitted` is the form (an empty field means "the broker's default"); `overrides`
    are the values set on the group now (keys without one are absent).
    """
    out: dict[str, str | None] = {}
    problems = []
    for name in EDITABLE:
        raw = submitted.get(name, "").strip()
        if not raw:
            if name in overrides:
                out[name] = None
            continue
        try:
            value = check(name, raw)
        except InputError as exc:
            problems.append(str(exc))
            continue
        if overrides.get(name) != value:
            out[name] = value
    if problems:
        raise InputError(" ".join(problems))
    return out
