"""What people type, read one way everywhere: durations, times, sizes, offsets and
partition lists — and the same values written back the way people type them.

Owns the console's input grammar and its one error, `InputError` (a `ValueError` whose
message says what to type instead). The message browser, the offset reset, the topic
forms and the config table all parse through here, so "2h" means the same on every page.
It must never touch a cluster, Django or the database.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

SECOND_MS = 1000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS

_DURATION_UNITS = {
    "ms": 1,
    "s": SECOND_MS,
    "sec": SECOND_MS,
    "second": SECOND_MS,
    "m": MINUTE_MS,
    "min": MINUTE_MS,
    "minute": MINUTE_MS,
    "h": HOUR_MS,
    "hr": HOUR_MS,
    "hour": HOUR_MS,
    "d": DAY_MS,
    "day": DAY_MS,
    "w": WEEK_MS,
    "week": WEEK_MS,
}
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
# Kafka writes "no limit" as -1 (retention) and "never" as Long.MAX_VALUE (flush, segment).
FOREVER_WORDS = {"forever", "-1", "unlimited", "none", "no limit", "infinite", "never"}
LONG_MAX = 2**63 - 1
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]*)")


class InputError(ValueError):
    """What was typed cannot be read; the message says what to type instead."""


def _unit(word: str) -> str | None:
    if word in _DURATION_UNITS:
        return word
    if word.endswith("s") and word[:-1] in _DURATION_UNITS:
        return word[:-1]  # plurals: "days", "hours", "mins"
    return None


def parse_duration(text: str, *, config: bool = False) -> int:
    """ "30 days", "2h", "1 h 30 min", "1d 6h", "90s ago", "250" (ms) -> milliseconds.

    A duration to go back by is never zero. A `config` value (retention.ms and the like)
    may be 0, and the words for "no limit" give -1, Kafka's own spelling.
    """
    cleaned = text.strip().lower().replace(",", " ").removesuffix(" ago").strip()
    if not cleaned:
        raise InputError("Type a duration such as “30 days”, “2h” or “90 min”.")
    if config and cleaned in FOREVER_WORDS:
        return -1
    total, pos = 0.0, 0
    for match in _PART.finditer(cleaned):
        if cleaned[pos : match.start()].strip():
            break
        word = match.group(2) or "ms"
        unit = _unit(word)
        if unit is None:
            raise InputError(
                f"Unknown time unit '{word}' in the duration; use ms, s, min, h, days or weeks."
            )
        total += float(match.group(1)) * _DURATION_UNITS[unit]
        pos = match.end()
    if pos == 0 or pos != len(cleaned) or total < 0 or (total == 0 and not config):
        raise InputError(f"“{text}” is not a duration; try '7 days', '2h' or '1 h 30 min'.")
    return int(total)


def parse_timestamp(text: str) -> int:
    """Epoch milliseconds, or an ISO 8601 date/time (UTC unless it says otherwise) -> ms."""
    value = text.strip()
    if value.isdigit() and len(value) >= 10:
        return int(value)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        if value.isdigit():
            return int(value)
        raise InputError(
            f"cannot read the time “{text}”: it is not a date; type one like "
            "2026-11-26 15:30 (UTC) or milliseconds since 1970."
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def parse_size(text: str) -> int:
    """ "500 MB", "2GiB", "1024" (bytes), "none" -> bytes (-1 means no limit)."""
    cleaned = text.strip().lower()
    if cleaned in FOREVER_WORDS or cleaned == "":
        return -1
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-z]*)", cleaned)
    if not match:
        raise InputError(f"{text!r} is not a size; try '500 MB', '2 GB' or 'none'.")
    number, unit = float(match.group(1)), match.group(2) or "b"
    unit = "b" if unit in {"byte", "bytes"} else unit
    if unit not in _SIZE_UNITS:
        raise InputError(f"Unknown size unit {match.group(2)!r}; use B, kB, MB, GB or TB.")
    return int(number * _SIZE_UNITS[unit])


def parse_int(text: str, what: str) -> int:
    """A whole number, allowing `_`, `,` and spaces between digits."""
    cleaned = text.strip().replace("_", "").replace(",", "").replace(" ", "")
    try:
        return int(cleaned)
    except ValueError:
        raise InputError(f"“{text}” is not a whole number; {what}.") from None


def parse_partitions(text: str) -> list[int] | None:
    """ "" -> None (all); "0, 2, 5-7" -> [0, 2, 5, 6, 7]."""
    text = text.strip()
    if not text:
        return None
    out: list[int] = []
    for part in text.replace(" ", "").split(","):
        try:
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                out += range(lo, hi + 1)
            else:
                out.append(int(part))
        except ValueError:
            raise InputError(
                f"“{part}” is not a partition list; type numbers and ranges like 0, 2, 5-7."
            ) from None
    return out


# --------------------------------------------------------------------------- written back


def duration_text(ms: int | None) -> str:
    """A duration as people type it back into a form: "7 days", "12 h", "forever"."""
    if ms is None:
        return ""
    if ms < 0:
        return "forever"
    if ms and ms % DAY_MS == 0:
        return f"{ms // DAY_MS} day{'' if ms == DAY_MS else 's'}"
    for unit, size in (("h", HOUR_MS), ("min", MINUTE_MS), ("s", SECOND_MS)):
        if ms and ms % size == 0:
            return f"{ms // size} {unit}"
    return f"{ms} ms"


def size_text(n: int | None) -> str:
    """A size as people type it back into a form: "1 GB", "512 MiB", "" for no limit."""
    if n is None or n < 0:
        return ""
    for unit, size in (
        ("GB", 1000**3),
        ("GiB", 1024**3),
        ("MB", 1000**2),
        ("MiB", 1024**2),
        ("kB", 1000),
    ):
        if n and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} B"


# --------------------------------------------------------------------------- topic configs


def _config_kind(name: str) -> str:
    """How Kafka counts a numeric topic config, judged by its name's unit suffix."""
    if name.endswith(".ms"):
        return "duration"
    if name.endswith(".bytes"):
        return "size"
    return "count"


def config_text(name: str, value: str | None) -> str:
    """A config value as people read it: "7 days", "1 GiB", "forever", "never"; values
    that are not numbers are shown as they are."""
    if value is None:
        return ""
    try:
        n = int(value)
    except ValueError:
        return value
    kind = _config_kind(name)
    if n == LONG_MAX:
        return "never"
    if n == -1 and kind != "count":
        return "forever" if kind == "duration" else "no limit"
    if kind == "duration":
        return duration_text(n)
    if kind == "size":
        return size_text(n)
    return value


def parse_config(name: str, text: str) -> str:
    """What people type for a config (the same words `config_text` shows), as Kafka's
    value. Plain numbers and non-numeric configs pass through unchanged."""
    cleaned = text.strip()
    if not cleaned or cleaned.lstrip("-").isdigit():
        return cleaned
    if cleaned.lower() == "never":
        return str(LONG_MAX)
    kind = _config_kind(name)
    if kind == "duration":
        return str(parse_duration(cleaned, config=True))
    if kind == "size":
        return str(parse_size(cleaned))
    return cleaned


def parse_threshold(text: str, what: str) -> int | None:
    """An optional count of `what` that may not be negative: "" -> None, "1,000" -> 1000."""
    cleaned = text.strip().replace(",", "").replace("_", "")
    if not cleaned:
        return None
    try:
        value = int(cleaned)
    except ValueError:
        raise InputError(f"“{cleaned}” is not a whole number of {what}.") from None
    if value < 0:
        raise InputError(f"A threshold in {what} cannot be negative.")
    return value
