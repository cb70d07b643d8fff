"""The normalized form of a schema, as Confluent's registry computes it for `normalize=true`.

Owns what "differs only in form" means per type: for Avro, full names and a fixed key order
with the attributes Parsing Canonical Form drops kept (doc, aliases, defaults, order,
logical types, custom properties); for JSON Schema, object keys sorted; for Protobuf,
fields, enum values, oneofs and imports in a fixed order. Declaration order of messages
and records is meaning (message indexes, field order) and is kept. It must never validate
a schema (the libraries do, in `formats`) nor touch the database.
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import descriptor_pb2

PRIMITIVES = frozenset(("null", "boolean", "int", "long", "float", "double", "bytes", "string"))
NAMED = frozenset(("record", "error", "enum", "fixed"))
_LOGICAL = ("logicalType", "precision", "scale")
_SCHEMA_RESERVED = frozenset(
    ("type", "name", "namespace", "doc", "aliases", "fields", "symbols", "size", "items")
) | {"values", "default", *_LOGICAL}
_FIELD_RESERVED = frozenset(("name", "type", "doc", "aliases", "default", "order"))


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def json_schema(doc: Any) -> str:
    """A JSON Schema with every object's keys sorted, without whitespace."""
    return _dump(doc)


def _full(name: str, namespace: str) -> str:
    return name if "." in name or not namespace else f"{namespace}.{name}"


def _props(node: dict[str, Any], reserved: frozenset[str]) -> str:
    return "".join(f",{_dump(k)}:{_dump(node[k])}" for k in sorted(set(node) - reserved))


def _logical(node: dict[str, Any]) -> str:
    if "logicalType" not in node:
        return ""
    out = f',"logicalType":{_dump(node["logicalType"])}'
    if "precision" in node:
        out += f',"precision":{_dump(node["precision"])}'
    if node.get("scale", 0) != 0:
        out += f',"scale":{_dump(node["scale"])}'
    return out


def _aliases(node: dict[str, Any], namespace: str) -> str:
    aliases = node.get("aliases") or []
    return f',"aliases":{_dump(sorted({_full(a, namespace) for a in aliases}))}' if aliases else ""


def _avro(node: Any, namespace: str, seen: set[str]) -> str:
    if isinstance(node, list):
        return "[" + ",".join(_avro(branch, namespace, seen) for branch in node) + "]"
    if isinstance(node, str):
        return _dump(node if node in PRIMITIVES else _full(node, namespace))
    if not isinstance(node, dict):
        return _dump(node)
    kind = node.get("type")
    if not isinstance(kind, str):
        return _avro(kind, namespace, seen)
    if kind in NAMED:
        return _named(node, kind, namespace, seen)
    if kind in ("array", "map"):
        key = "items" if kind == "array" else "values"
        inner = _avro(node.get(key), namespace, seen)
        return (
            f'{{"type":"{kind}","{key}":{inner}{_logical(node)}{_props(node, _SCHEMA_RESERVED)}}}'
        )
    if kind not in PRIMITIVES:
        return _avro(kind, namespace, seen)
    rest = _logical(node) + _props(node, _SCHEMA_RESERVED)
    return f'{{"type":"{kind}"{rest}}}' if rest else _dump(kind)


def _named(node: dict[str, Any], kind: str, namespace: str, seen: set[str]) -> str:
    name = _full(str(node.get("name", "")), node.get("namespace") or namespace)
    if name in seen:
        return _dump(name)
    seen.add(name)
    own = name.rpartition(".")[0]
    out = f'{{"name":{_dump(name)},"type":"{kind}"'
    if kind == "enum":
        out += f',"symbols":{_dump(node.get("symbols", []))}'
    elif kind == "fixed":
        out += f',"size":{_dump(node.get("size"))}'
    else:
        out += ',"fields":[' + ",".join(_field(f, own, seen) for f in node.get("fields", [])) + "]"
    out += _logical(node)
    if node.get("doc"):
        out += f',"doc":{_dump(node["doc"])}'
    out += _aliases(node, own)
    if kind == "enum" and "default" in node:
        out += f',"default":{_dump(node["default"])}'
    return out + _props(node, _SCHEMA_RESERVED) + "}"


def _field(field: dict[str, Any], namespace: str, seen: set[str]) -> str:
    out = f'{{"name":{_dump(field.get("name"))},"type":{_avro(field.get("type"), namespace, seen)}'
    # Ascending is the default order: saying it or not is the same field.
    if field.get("order", "ascending") != "ascending":
        out += f',"order":{_dump(field["order"])}'
    if field.get("doc") is not None:
        out += f',"doc":{_dump(field["doc"])}'
    if field.get("aliases"):
        out += f',"aliases":{_dump(sorted(set(field["aliases"])))}'
    if "default" in field:
        out += f',"default":{_dump(field["default"])}'
    return out + _props(field, _FIELD_RESERVED) + "}"


def avro(doc: Any) -> str:
    """An Avro schema (already validated) in normalized form: itself a valid schema."""
    return _avro(doc, "", set())


def _sort_message(message: descriptor_pb2.DescriptorProto) -> None:
    fields = sorted(message.field, key=lambda f: f.number)
    # Oneofs follow their first field, so indexes move with them.
    firsts: dict[int, int] = {}
    for field in fields:
        if field.HasField("oneof_index"):
            firsts.setdefault(field.oneof_index, field.number)
    order = sorted(range(len(message.oneof_decl)), key=lambda i: firsts.get(i, 1 << 30))
    moved = {old: new for new, old in enumerate(order)}
    oneofs = [message.oneof_decl[i] for i in order]
    copies = [descriptor_pb2.FieldDescriptorProto() for _ in fields]
    for copy, field in zip(copies, fields, strict=True):
        copy.CopyFrom(field)
        if copy.HasField("oneof_index"):
            copy.oneof_index = moved[copy.oneof_index]
    decls = [descriptor_pb2.OneofDescriptorProto() for _ in oneofs]
    for decl, oneof in zip(decls, oneofs, strict=True):
        decl.CopyFrom(oneof)
    del message.field[:]
    message.field.extend(copies)
    del message.oneof_decl[:]
    message.oneof_decl.extend(decls)
    # Map entries are synthetic (`map<k, v>` fields): where they were declared is no meaning.
    declared = [n for n in message.nested_type if not n.options.map_entry]
    entries = sorted((n for n in message.nested_type if n.options.map_entry), key=lambda n: n.name)
    nested = [descriptor_pb2.DescriptorProto() for _ in message.nested_type]
    for copy, original in zip(nested, declared + entries, strict=True):
        copy.CopyFrom(original)
        _sort_message(copy)
    del message.nested_type[:]
    message.nested_type.extend(nested)
    for enum in message.enum_type:
        _sort_enum(enum)
    ranges = sorted(message.reserved_range, key=lambda r: (r.start, r.end))
    copied = [
        descriptor_pb2.DescriptorProto.ReservedRange(start=r.start, end=r.end) for r in ranges
    ]
    del message.reserved_range[:]
    message.reserved_range.extend(copied)
    names = sorted(set(message.reserved_name))
    del message.reserved_name[:]
    message.reserved_name.extend(names)


def _sort_enum(enum: descriptor_pb2.EnumDescriptorProto) -> None:
    values = sorted(enum.value, key=lambda v: (v.number, v.name))
    copies = [descriptor_pb2.EnumValueDescriptorProto() for _ in values]
    for copy, value in zip(copies, values, strict=True):
        copy.CopyFrom(value)
    del enum.value[:]
    enum.value.extend(copies)


def _declared(proto: descriptor_pb2.FileDescriptorProto) -> set[str]:
    found: set[str] = set()

    def walk(prefix: str, messages: Any, enums: Any) -> None:
        for enum in enums:
            found.add(f"{prefix}.{enum.name}")
        for message in messages:
            name = f"{prefix}.{message.name}"
            found.add(name)
            walk(name, message.nested_type, message.enum_type)

    walk(f".{proto.package}" if proto.package else "", proto.message_type, proto.enum_type)
    return found


def _qualify(proto: descriptor_pb2.FileDescriptorProto) -> None:
    """Relative type names that name a type of this file become fully qualified."""
    declared = _declared(proto)

    def resolve(scope: str, name: str) -> str:
        if not name or name.startswith("."):
            return name
        parts = scope.split(".")
        while True:
            candidate = ".".join([*parts, name])
            if candidate in declared:
                return candidate
            if len(parts) == 1:
                return name
            parts.pop()

    def walk(scope: str, messages: Any) -> None:
        for message in messages:
            inner = f"{scope}.{message.name}"
            for field in message.field:
                field.type_name = resolve(inner, field.type_name)
            walk(inner, message.nested_type)

    walk(f".{proto.package}" if proto.package else "", proto.message_type)


def protobuf(proto: descriptor_pb2.FileDescriptorProto) -> descriptor_pb2.FileDescriptorProto:
    """A copy of `proto` with declarations in normalized order and local names qualified."""
    out = descriptor_pb2.FileDescriptorProto()
    out.CopyFrom(proto)
    if out.syntax == "proto2":
        out.ClearField("syntax")
    public = {out.dependency[i] for i in out.public_dependency}
    dependencies = sorted(set(out.dependency))
    del out.dependency[:]
    out.dependency.extend(dependencies)
    del out.public_dependency[:]
    out.public_dependency.extend(i for i, name in enumerate(dependencies) if name in public)
    _qualify(out)
    for message in out.message_type:
        _sort_message(message)
    for enum in out.enum_type:
        _sort_enum(enum)
    return out
