"""Where the lengths, counts, null markers and blobs of a well-formed request frame lie.

Owns reading a frame that kio accepts into a flat list of spans, using kio's entity
classes exactly as the guard does (kafka types, flexible encodings, nullability, nesting,
tagged fields), so the mutator can aim at structure instead of at random bytes. It must
never be used on untrusted bytes in the broker: it assumes the frame is well formed.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import struct
from typing import Any

from kio.serial._introspect import (
    EntityField,
    EntityTupleField,
    PrimitiveField,
    PrimitiveTupleField,
    classify_field,
    get_field_tag,
    get_schema_field_type,
    is_optional,
)

from logstore.protocol import codec
from logstore.protocol.guard import FIXED_SIZES


class Kind(enum.Enum):
    LEN16 = "int16 length"  # legacy string
    LEN32 = "int32 length"  # legacy bytes or array
    UVARINT = "uvarint"  # compact length, array count, tagged-field count/tag/size
    MARKER = "null marker"  # nullable struct
    BLOB = "blob"  # string or bytes contents


@dataclasses.dataclass(frozen=True, slots=True)
class Span:
    kind: Kind
    start: int
    end: int
    nullable: bool = False


def _uvarint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


class _Walk:
    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.spans: list[Span] = []

    def length(self, pos: int, flexible: bool, width: int, nullable: bool) -> tuple[int, int]:
        """(count or -1 for null, pos after the prefix), recording the prefix's span."""
        if flexible:
            raw, after = _uvarint(self.buf, pos)
            self.spans.append(Span(Kind.UVARINT, pos, after, nullable))
            return raw - 1, after
        fmt = ">h" if width == 2 else ">i"
        (n,) = struct.unpack_from(fmt, self.buf, pos)
        self.spans.append(
            Span(Kind.LEN16 if width == 2 else Kind.LEN32, pos, pos + width, nullable)
        )
        return n, pos + width

    def entity(self, cls: type, pos: int) -> int:
        flexible = bool(cls.__flexible__)  # type: ignore[attr-defined]
        tags: dict[int, dataclasses.Field[Any]] = {}
        for field in dataclasses.fields(cls):
            tag = get_field_tag(field)
            if tag is not None:
                tags[int(tag)] = field
            else:
                pos = self.field(cls, field, pos, flexible, tagged=False)
        if flexible:
            n, pos = self.length(pos, True, 0, False)
            for _ in range(n + 1):
                tag_start = pos
                tag, pos = _uvarint(self.buf, pos)
                self.spans.append(Span(Kind.UVARINT, tag_start, pos))
                size_start = pos
                size, pos = _uvarint(self.buf, pos)
                self.spans.append(Span(Kind.UVARINT, size_start, pos))
                self.field(cls, tags[tag], pos, flexible, tagged=True)
                pos += size
        return pos

    def field(
        self, owner: type, field: dataclasses.Field[Any], pos: int, flexible: bool, tagged: bool
    ) -> int:
        if owner.__name__ == "RequestHeader" and field.name == "client_id":
            return self.blob(pos, False, nullable=True, width=2)
        kind = classify_field(field)
        optional = is_optional(field)
        if kind.is_array:
            n, pos = self.length(pos, flexible, 4, optional)
            for _ in range(max(n, 0)):
                pos = self.element(owner, field, kind, pos, flexible)
            return pos
        if isinstance(kind, EntityField) and optional:
            self.spans.append(Span(Kind.MARKER, pos, pos + 1, True))
            if self.buf[pos] == 0xFF:
                return pos + 1
            return self.entity(kind.type_, pos + 1)
        return self.element(owner, field, kind, pos, flexible, optional and not tagged)

    def element(
        self,
        owner: type,
        field: dataclasses.Field[Any],
        kind: Any,
        pos: int,
        flexible: bool,
        nullable: bool = False,
    ) -> int:
        if isinstance(kind, EntityField | EntityTupleField):
            return self.entity(kind.type_, pos)
        assert isinstance(kind, PrimitiveField | PrimitiveTupleField)
        kafka_type = get_schema_field_type(field)
        if kafka_type in FIXED_SIZES:
            return pos + FIXED_SIZES[kafka_type]
        width = 2 if kafka_type == "string" else 4
        return self.blob(pos, flexible, nullable, width)

    def blob(self, pos: int, flexible: bool, nullable: bool, width: int) -> int:
        n, pos = self.length(pos, flexible, width, nullable)
        if n <= 0:
            return pos
        self.spans.append(Span(Kind.BLOB, pos, pos + n))
        return pos + n


@functools.cache
def _classes(api_key: int, version: int) -> tuple[type, type] | None:
    request_cls = codec.request_class(api_key, version)
    if request_cls is None:
        return None
    return request_cls.__header_schema__, request_cls  # type: ignore[attr-defined]


def spans(body: bytes) -> list[Span]:
    """The structural spans of a well-formed request body (no length prefix)."""
    api_key, version, _ = codec.peek_header(body)
    classes = _classes(api_key, version)
    if classes is None:
        return []
    walk = _Walk(body)
    walk.entity(classes[1], walk.entity(classes[0], 0))
    return walk.spans
