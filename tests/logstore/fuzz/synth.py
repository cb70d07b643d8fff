"""Schema-driven requests: one well-formed frame for any API version, from kio's classes.

Owns building a plausible request of every shape the broker advertises (one element per
array, short strings, small numbers), either with every nullable field null or with none
null. The fuzz corpus uses it for API versions no captured client sent, and the null-safety
tests send it as is. It must never open a socket.
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from typing import Any

from kio.schema.errors import ErrorCode
from kio.serial._introspect import (
    EntityField,
    EntityTupleField,
    PrimitiveTupleField,
    classify_field,
    get_schema_field_type,
    is_optional,
)

from logstore.protocol import codec

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_ID = uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
_VALUES: dict[str, Any] = {
    "bool": False,
    "string": "fuzz",
    "bytes": b"fuzz",
    "records": b"fuzz",
    "uuid": _ID,
    "float64": 1.0,
    "error_code": ErrorCode.none,
    "timedelta_i32": datetime.timedelta(milliseconds=1),
    "timedelta_i64": datetime.timedelta(milliseconds=1),
    "datetime_i64": _EPOCH + datetime.timedelta(seconds=1),
}


def entity(cls: type, *, nulls: bool, null_arrays: bool = True) -> Any:
    """An instance of `cls` with every field filled.

    With `nulls`, nullable fields are null — arrays too unless `null_arrays` is False, which
    keeps them filled so the nullable fields nested inside them are reached as null.
    """
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        kind = classify_field(field)
        if nulls and is_optional(field) and (null_arrays or not kind.is_array):
            values[field.name] = None
            continue
        match kind:
            case EntityField(inner):
                value = entity(inner, nulls=nulls, null_arrays=null_arrays)
            case EntityTupleField(inner):
                value = (entity(inner, nulls=nulls, null_arrays=null_arrays),)
            case _ if field.name == "validate_only":
                value = True  # fuzzing must not grow the broker's partitions without bound
            case _:
                value = _VALUES.get(get_schema_field_type(field), 1)
                if isinstance(kind, PrimitiveTupleField):
                    value = (value,)
        values[field.name] = value
    return cls(**values)


def frame(
    api_key: int, version: int, *, nulls: bool, null_arrays: bool = True, correlation_id: int = 1
) -> bytes:
    """A complete, length-prefixed request frame of this API version."""
    cls = codec.request_class(api_key, version)
    assert cls is not None, (api_key, version)
    header = codec.RequestHeader(api_key, version, correlation_id, None if nulls else "fuzz")
    return codec.encode_request(header, entity(cls, nulls=nulls, null_arrays=null_arrays))
