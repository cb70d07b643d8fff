"""The structural guard: every request frame is walked and bounded before kio reads it.

The rule: every decoder is hostile-input surface, and nothing reaches kio unchecked. kio's
native reader trusts the lengths it reads — an array count of 2^32-2 inside a 21-byte frame
makes it reserve 34 GB and the allocator aborts the whole process, with no Python exception
anyone could catch. So before kio runs, this module walks the frame with the exact schema
kio will use and refuses it (MalformedFrameError: the server closes that one connection)
unless:

- every string/bytes length (legacy int16/int32 or compact uvarint) fits in the bytes left;
  `records` is one bytes blob whose length is checked and whose contents are never read;
- every array count is at most bytes-left / the smallest encoding of one element, and a
  frame holds at most MAX_ELEMENTS array elements in all (each becomes a Python object);
- every uvarint is at most 5 bytes and fits in 32 bits;
- null appears only where the schema says nullable (a non-nullable array sent as null is a
  parse error in Kafka too), and nullable structs carry the -1/1 marker;
- every tagged field is a known tag, its size lies inside the frame, and its value fills
  exactly that size (kio refuses unknown tags and ignores the size; we make that safe).

The walk is derived from kio's own entity classes (dataclass fields with their
`kafka_type`, nullability, nesting, tags and the flexible flag), never hand-listed per API,
and is compiled once per (api_key, api_version) into closures; runs of fixed-size fields
collapse into one bounds check, and arrays of fixed-size elements are checked in O(1).
It allocates nothing proportional to any length it reads, never decodes values, and does
no I/O.
"""

from __future__ import annotations

import dataclasses
import functools
import struct
from collections.abc import Callable
from typing import Any

# kio's own field introspection, so the walk can never disagree with what kio reads.
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

from logstore.protocol.errors import MalformedFrameError

# A step reads one field at `pos` from `buf` (never past `end`) and returns the new pos.
Frame = bytes | bytearray | memoryview
Step = Callable[[Frame, int, int, "Budget"], int]

FIXED_SIZES = {
    "int8": 1,
    "uint8": 1,
    "bool": 1,
    "int16": 2,
    "uint16": 2,
    "error_code": 2,
    "int32": 4,
    "uint32": 4,
    "timedelta_i32": 4,
    "int64": 8,
    "uint64": 8,
    "float64": 8,
    "timedelta_i64": 8,
    "datetime_i64": 8,
    "uuid": 16,
}
_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_UVARINT_MAX_BYTES = 5
_U32_MAX = 0xFFFFFFFF
# Decoding costs kio ~250 ns and ~15 bytes of memory per byte-sized array element, so a
# 100 MiB frame of empty strings would block the event loop for 25 s and take 1.5 GB.
# The largest real requests (Fetch or Produce over every partition of a big broker) hold
# tens of thousands of elements; Kafka has no such limit, so keep it far above that.
MAX_ELEMENTS = 1_000_000


class Budget:
    """What one frame may still cost kio: array elements left (each becomes an object)."""

    __slots__ = ("elements",)

    def __init__(self, elements: int) -> None:
        self.elements = elements


class HostileFrameError(MalformedFrameError):
    """A frame whose structure does not fit its own bytes; it never reaches kio."""


def _refuse(what: str, pos: int) -> HostileFrameError:
    return HostileFrameError(f"{what} at byte {pos}")


def read_uvarint(buf: Frame, pos: int, end: int) -> tuple[int, int]:
    """(value, new pos) of an unsigned varint of at most 5 bytes that fits in 32 bits."""
    if pos >= end:
        raise _refuse("truncated varint", pos)
    byte = buf[pos]
    if byte < 0x80:
        return byte, pos + 1
    value = byte & 0x7F
    shift = 7
    start = pos
    pos += 1
    while True:
        if pos >= end:
            raise _refuse("truncated varint", start)
        if pos - start == _UVARINT_MAX_BYTES:
            raise _refuse("varint longer than 5 bytes", start)
        byte = buf[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            break
        shift += 7
    if value > _U32_MAX:
        raise _refuse("varint above 32 bits", start)
    return value, pos


def _int16(buf: Frame, pos: int) -> int:
    return int(_I16.unpack_from(buf, pos)[0])


def _int32(buf: Frame, pos: int) -> int:
    return int(_I32.unpack_from(buf, pos)[0])


@dataclasses.dataclass(frozen=True, slots=True)
class Walker:
    """How to walk one field: its step, the fewest bytes it can take, its fixed size if any."""

    step: Step
    min_size: int
    fixed: int | None = None
    # A flexible struct of fixed-size fields: that size, then its tagged-field section.
    fixed_then_tags: int | None = None


def _fixed(size: int, name: str) -> Walker:
    def step(buf: Frame, pos: int, end: int, budget: Budget) -> int:
        pos += size
        if pos > end:
            raise _refuse(f"{name}: truncated", pos - size)
        return pos

    return Walker(step, size, size)


def _blob(name: str, flexible: bool, nullable: bool, wide: bool) -> Walker:
    """A string or bytes field: length prefix, then that many bytes, never read."""
    if flexible:

        def compact(buf: Frame, pos: int, end: int, budget: Budget) -> int:
            n, after = read_uvarint(buf, pos, end)
            if n == 0:
                if not nullable:
                    raise _refuse(f"{name}: null where not nullable", pos)
                return after
            after += n - 1
            if after > end:
                raise _refuse(f"{name}: length {n - 1} exceeds the frame", pos)
            return after

        return Walker(compact, 1)

    width = 4 if wide else 2
    read = _int32 if wide else _int16

    def legacy(buf: Frame, pos: int, end: int, budget: Budget) -> int:
        if pos + width > end:
            raise _refuse(f"{name}: truncated length", pos)
        n = read(buf, pos)
        after = pos + width
        if n < 0:
            if n == -1 and nullable:
                return after
            raise _refuse(f"{name}: length {n}", pos)
        after += n
        if after > end:
            raise _refuse(f"{name}: length {n} exceeds the frame", pos)
        return after

    return Walker(legacy, width)


def _array(name: str, inner: Walker, flexible: bool, nullable: bool) -> Walker:
    per_item = max(inner.min_size, 1)  # an element of 0 bytes still costs kio a slot
    item_step = inner.step
    item_fixed = inner.fixed

    def count(buf: Frame, pos: int, end: int, budget: Budget) -> tuple[int | None, int]:
        if flexible:
            raw, after = read_uvarint(buf, pos, end)
            n = None if raw == 0 else raw - 1
        else:
            if pos + 4 > end:
                raise _refuse(f"{name}: truncated array length", pos)
            n, after = _int32(buf, pos), pos + 4
            if n == -1:
                n = None
            elif n < 0:
                raise _refuse(f"{name}: array length {n}", pos)
        if n is None:
            if not nullable:
                raise _refuse(f"{name}: null array where not nullable", pos)
            return None, after
        if n > (end - after) // per_item:
            raise _refuse(f"{name}: {n} elements cannot fit in {end - after} bytes", pos)
        budget.elements -= n
        if budget.elements < 0:
            raise _refuse(f"{name}: more than {MAX_ELEMENTS} array elements in one frame", pos)
        return n, after

    if item_fixed is not None:

        def fixed_items(buf: Frame, pos: int, end: int, budget: Budget) -> int:
            n, pos = count(buf, pos, end, budget)
            return pos if n is None else pos + n * item_fixed  # count() bounded it

        return Walker(fixed_items, 1 if flexible else 4)

    if inner.fixed_then_tags is not None:
        stride = inner.fixed_then_tags + 1

        def strided_items(buf: Frame, pos: int, end: int, budget: Budget) -> int:
            # Flexible fixed-size structs almost never carry tagged fields: check every
            # element's empty tag section at once, and walk one by one only if one has tags.
            n, pos = count(buf, pos, end, budget)
            if not n:
                return pos
            stop = pos + n * stride
            if stop <= end and bytes(buf[pos + stride - 1 : stop : stride]).count(0) == n:
                return stop
            for _ in range(n):
                pos = item_step(buf, pos, end, budget)
            return pos

        return Walker(strided_items, 1 if flexible else 4)

    def items(buf: Frame, pos: int, end: int, budget: Budget) -> int:
        n, pos = count(buf, pos, end, budget)
        for _ in range(n or 0):
            pos = item_step(buf, pos, end, budget)
        return pos

    return Walker(items, 1 if flexible else 4)


def _nullable_struct(name: str, inner: Walker) -> Walker:
    inner_step = inner.step

    def step(buf: Frame, pos: int, end: int, budget: Budget) -> int:
        if pos >= end:
            raise _refuse(f"{name}: truncated null marker", pos)
        marker = buf[pos]
        if marker == 0xFF:  # -1: null
            return pos + 1
        if marker != 1:
            raise _refuse(f"{name}: null marker {marker}", pos)
        return inner_step(buf, pos + 1, end, budget)

    return Walker(step, 1)


def _field(owner: type, field: dataclasses.Field[Any], flexible: bool, tagged: bool) -> Walker:
    name = f"{owner.__name__}.{field.name}"
    if owner.__name__ == "RequestHeader" and field.name == "client_id":
        # Kafka keeps client_id a legacy nullable string even in header v2.
        return _blob(name, flexible=False, nullable=True, wide=False)
    kind = classify_field(field)
    optional = is_optional(field)
    match kind:
        case PrimitiveField():
            # kio reads tagged primitives as non-nullable: the tag's absence is their null.
            inner = _primitive(
                name, get_schema_field_type(field), flexible, optional and not tagged
            )
        case PrimitiveTupleField():
            inner = _primitive(name, get_schema_field_type(field), flexible, False)
        case EntityField(entity) | EntityTupleField(entity):
            inner = entity_walker(entity)
            if isinstance(kind, EntityField) and optional:
                inner = _nullable_struct(name, inner)
        case _:  # pragma: no cover - kio has no other field classes
            raise TypeError(f"unknown field class {kind!r}")
    if kind.is_array:
        return _array(name, inner, flexible, optional)
    return inner


def _primitive(name: str, kafka_type: str, flexible: bool, nullable: bool) -> Walker:
    size = FIXED_SIZES.get(kafka_type)
    if size is not None:
        return _fixed(size, name)
    if kafka_type in ("string", "bytes", "records"):
        return _blob(name, flexible, nullable, wide=kafka_type != "string")
    raise TypeError(f"{name}: kafka type {kafka_type!r} has no guard rule")


def _merge_fixed(walkers: list[Walker], name: str) -> list[Walker]:
    """Collapse runs of fixed-size fields into one bounds check."""
    out: list[Walker] = []
    run = 0
    for w in walkers:
        if w.fixed is not None:
            run += w.fixed
            continue
        if run:
            out.append(_fixed(run, f"{name} fixed fields"))
            run = 0
        out.append(w)
    if run:
        out.append(_fixed(run, f"{name} fixed fields"))
    return out


def _tagged_section(name: str, tags: dict[int, Walker]) -> Step:
    def step(buf: Frame, pos: int, end: int, budget: Budget) -> int:
        if pos < end and buf[pos] == 0:  # the usual case: no tagged fields
            return pos + 1
        n, pos = read_uvarint(buf, pos, end)
        if n > (end - pos) // 2:  # every tagged field takes a tag and a size byte at least
            raise _refuse(f"{name}: {n} tagged fields cannot fit", pos)
        for _ in range(n):
            tag_at = pos
            tag, pos = read_uvarint(buf, pos, end)
            size, pos = read_uvarint(buf, pos, end)
            stop = pos + size
            if stop > end:
                raise _refuse(
                    f"{name}: tagged field {tag} of {size} bytes exceeds the frame", tag_at
                )
            walker = tags.get(tag)
            if walker is None:
                raise _refuse(f"{name}: unknown tagged field {tag}", tag_at)
            if walker.step(buf, pos, stop, budget) != stop:
                raise _refuse(f"{name}: tagged field {tag} does not fill its {size} bytes", tag_at)
            pos = stop
        return pos

    return step


@functools.cache
def entity_walker(entity: type) -> Walker:
    """The walker for one kio entity class (request, header or nested struct)."""
    flexible = bool(entity.__flexible__)  # type: ignore[attr-defined]
    plain: list[Walker] = []
    tags: dict[int, Walker] = {}
    for field in dataclasses.fields(entity):
        tag = get_field_tag(field)
        if tag is None:
            plain.append(_field(entity, field, flexible, tagged=False))
        else:
            tags[int(tag)] = _field(entity, field, flexible, tagged=True)
    min_size = sum(w.min_size for w in plain) + (1 if flexible else 0)
    if not flexible:
        fixed_total = sum(w.fixed or 0 for w in plain)
        if all(w.fixed is not None for w in plain):
            return _fixed(fixed_total, entity.__name__)
    steps = [w.step for w in _merge_fixed(plain, entity.__name__)]
    if flexible:
        steps.append(_tagged_section(entity.__name__, tags))
    all_fixed = (
        sum(w.fixed or 0 for w in plain) if all(w.fixed is not None for w in plain) else None
    )
    return Walker(_sequence(steps), min_size, fixed_then_tags=all_fixed if flexible else None)


def _sequence(steps: list[Step]) -> Step:
    if len(steps) == 1:
        return steps[0]
    if len(steps) == 2:
        first, second = steps

        def two(buf: Frame, pos: int, end: int, budget: Budget) -> int:
            return second(buf, first(buf, pos, end, budget), end, budget)

        return two
    frozen = tuple(steps)

    def many(buf: Frame, pos: int, end: int, budget: Budget) -> int:
        for step in frozen:
            pos = step(buf, pos, end, budget)
        return pos

    return many


@functools.cache
def frame_walker(header_cls: type, request_cls: type) -> Step:
    """One step that walks a whole request body: header, then the request."""
    return _sequence([entity_walker(header_cls).step, entity_walker(request_cls).step])


def check_request(body: Frame, header_cls: type, request_cls: type) -> int:
    """Raise HostileFrameError unless kio can read `body` without trusting any length.

    Returns where the request ends (kio ignores trailing bytes, and so do we).
    """
    return frame_walker(header_cls, request_cls)(body, 0, len(body), Budget(MAX_ELEMENTS))
