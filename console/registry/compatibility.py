"""Whether a new schema may follow the existing versions of a subject.

Owns the compatibility levels (BACKWARD, FORWARD, FULL, their TRANSITIVE forms, NONE) and
the per-type reader/writer checks. It must never touch the database: callers hand it the
versions to compare against, newest last.

Avro uses the avro library's reader/writer checker. JSON Schema and Protobuf have no
well-kept checker on PyPI, so the rules here cover the breaking changes that matter for
records already written: JSON Schema properties that become required, change type, or are
closed off; Protobuf messages that disappear or fields whose number changes type.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from console.registry.formats import AVRO, JSON, Parsed

NONE = "NONE"
LEVELS = (
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
    NONE,
)
DEFAULT_LEVEL = "BACKWARD"


def problems(level: str, new: Parsed, existing: Sequence[Parsed]) -> list[str]:
    """Why `new` breaks `level` against `existing` (oldest first); empty when compatible."""
    if level == NONE or not existing:
        return []
    against = existing if level.endswith("_TRANSITIVE") else existing[-1:]
    base = level.removesuffix("_TRANSITIVE")
    found: list[str] = []
    for old in against:
        if base in ("BACKWARD", "FULL"):
            found += reader_problems(reader=new, writer=old)
        if base in ("FORWARD", "FULL"):
            found += reader_problems(reader=old, writer=new)
    return found


def reader_problems(reader: Parsed, writer: Parsed) -> list[str]:
    """Why data written with `writer` cannot be read with `reader`."""
    if reader.schema_type != writer.schema_type:
        return [f"schema type changed from {writer.schema_type} to {reader.schema_type}"]
    if reader.schema_type == AVRO:
        return _avro(reader, writer)
    if reader.schema_type == JSON:
        return _json_schema(reader.model, writer.model, "#")
    return _protobuf(reader.model, writer.model)


def _avro(reader: Parsed, writer: Parsed) -> list[str]:
    result = ReaderWriterCompatibilityChecker().get_compatibility(reader.model, writer.model)
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    messages = sorted(result.messages) or ["incompatible"]
    locations = sorted(result.locations)
    return [f"{m} at {', '.join(locations) or '/'}" for m in messages]


def _types(schema: Any) -> set[str] | None:
    kind = schema.get("type") if isinstance(schema, dict) else None
    if kind is None:
        return None
    return {kind} if isinstance(kind, str) else set(kind)


def _json_schema(reader: Any, writer: Any, where: str) -> list[str]:
    if not isinstance(reader, dict) or not isinstance(writer, dict):
        return [] if reader is True or reader == writer else [f"{where}: schema changed"]
    found: list[str] = []
    r_types, w_types = _types(reader), _types(writer)
    if r_types is not None and (w_types is None or not w_types <= r_types):
        found.append(f"{where}: type {sorted(w_types or [])} not accepted by {sorted(r_types)}")
        return found
    r_props = reader.get("properties", {})
    w_props = writer.get("properties", {})
    for name in sorted(set(reader.get("required", [])) - set(writer.get("required", []))):
        found.append(f"{where}/properties/{name}: required property added")
    if reader.get("additionalProperties") is False:
        for name in sorted(set(w_props) - set(r_props)):
            found.append(f"{where}/properties/{name}: property removed from a closed content model")
    for name in sorted(set(r_props) & set(w_props)):
        found += _json_schema(r_props[name], w_props[name], f"{where}/properties/{name}")
    if isinstance(reader.get("items"), dict) and isinstance(writer.get("items"), dict):
        found += _json_schema(reader["items"], writer["items"], f"{where}/items")
    return found


def _messages(proto: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def walk(prefix: str, messages: Any) -> None:
        for message in messages:
            name = f"{prefix}.{message.name}" if prefix else message.name
            found[name] = message
            walk(name, message.nested_type)

    walk(proto.package, proto.message_type)
    return found


def _protobuf(reader: Any, writer: Any) -> list[str]:
    found: list[str] = []
    r_messages, w_messages = _messages(reader), _messages(writer)
    for name, w_message in w_messages.items():
        r_message = r_messages.get(name)
        if r_message is None:
            found.append(f"message {name} removed")
            continue
        r_fields = {f.number: f for f in r_message.field}
        for field in w_message.field:
            other = r_fields.get(field.number)
            if other is not None and (other.type, other.type_name) != (
                field.type,
                field.type_name,
            ):
                found.append(f"{name} field {field.number} ({field.name}) changed type")
    return found
