"""Build kio entities of any version from plain Python values.

Owns the small conversions every handler would otherwise repeat: dropping fields a version
lacks, ints to `timedelta` for `timedelta_*` fields, ints to `ErrorCode`. It must never
decide what a field's value should be.
"""

from __future__ import annotations

import datetime
import functools
from typing import Any

from kio.schema.errors import ErrorCode

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


@functools.cache
def _field_kinds(cls: type) -> dict[str, str]:
    fields = cls.__dataclass_fields__  # type: ignore[attr-defined]
    return {name: f.metadata.get("kafka_type", "") for name, f in fields.items()}


def make(cls: type, **values: Any) -> Any:
    """Instantiate `cls` with the subset of `values` it has fields for."""
    kinds = _field_kinds(cls)
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        kind = kinds.get(name)
        if kind is None:
            continue
        if kind.startswith("timedelta") and isinstance(value, int):
            value = datetime.timedelta(milliseconds=value)
        elif kind == "error_code" and not isinstance(value, ErrorCode):
            value = error_code(value)
        elif kind == "datetime_i64" and isinstance(value, int):
            value = None if value < 0 else _EPOCH + datetime.timedelta(milliseconds=value)
        kwargs[name] = value
    return cls(**kwargs)


def has_field(cls: type, name: str) -> bool:
    return name in _field_kinds(cls)


def error_code(code: int) -> ErrorCode:
    """kio's ErrorCode for a numeric code (unknown codes map to UNKNOWN_SERVER_ERROR)."""
    try:
        return ErrorCode(code)
    except ValueError:
        return ErrorCode.unknown_server_error


def millis(value: Any) -> int:
    """A kio timedelta field (or plain int) as integer milliseconds."""
    if isinstance(value, datetime.timedelta):
        return int(value.total_seconds() * 1000)
    return int(value)
