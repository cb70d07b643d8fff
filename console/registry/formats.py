"""Reading the three schema types the registry stores: Avro, JSON Schema and Protobuf.

Owns validation (42201 material) and the canonical text that decides whether two
registrations are the same schema. The parsing itself is the libraries' (avro, jsonschema,
protobuf); this module must never touch the database or judge compatibility.

Protobuf schemas are accepted as base64 FileDescriptorProto, the form confluent-kafka's
Python serializer registers, or as `.proto` source text, the form Java's serializer
registers (read by `proto_text`).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import avro.errors
import avro.schema
import jsonschema
import jsonschema.exceptions
from google.protobuf import descriptor_pb2
from google.protobuf.message import DecodeError

from console.registry import normalized, proto_text

AVRO, JSON, PROTOBUF = "AVRO", "JSON", "PROTOBUF"
TYPES = (AVRO, JSON, PROTOBUF)


class InvalidSchema(ValueError):
    """The text is not a schema of its declared type; the message says why."""


@dataclass(frozen=True)
class Parsed:
    """A schema read by its library: `canonical` is its identity, `model` what checks use.

    `text` is what the registry stores: as given, or its normalized form when asked for.
    """

    schema_type: str
    canonical: str
    model: Any
    text: str = ""


def parse(
    schema_type: str, text: str, references: Sequence[Parsed] = (), normalize: bool = False
) -> Parsed:
    """Read `text` as a `schema_type` schema whose references are already read.

    With `normalize`, schemas that differ only in form (`normalized`) read the same.
    """
    if schema_type == AVRO:
        parsed = _parse_avro(text, references)
        if normalize:
            parsed = _parse_avro(normalized.avro(json.loads(text)), references)
    elif schema_type == JSON:
        parsed = _parse_json(text)
        if normalize:
            parsed = _parse_json(normalized.json_schema(parsed.model))
    elif schema_type == PROTOBUF:
        parsed = _parse_protobuf(text)
        if normalize:
            # The text stays as given: Java clients read back the `.proto` source they sent.
            proto = normalized.protobuf(parsed.model)
            canonical = base64.b64encode(proto.SerializeToString(deterministic=True)).decode()
            return Parsed(PROTOBUF, canonical, parsed.model, text)
    else:
        raise InvalidSchema(f"Unknown schema type {schema_type!r}; known: {', '.join(TYPES)}")
    return parsed


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        raise InvalidSchema(f"Invalid schema {text}, details: {exc}") from exc


def _compact(doc: Any) -> str:
    # Key order is kept: Avro field order is meaning, and Confluent keeps it too.
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def _parse_avro(text: str, references: Sequence[Parsed]) -> Parsed:
    doc = _json(text)
    names = avro.schema.Names()
    try:
        for ref in references:
            avro.schema.make_avsc_object(json.loads(ref.canonical), names)
        model = avro.schema.make_avsc_object(doc, names)
    except (avro.errors.AvroException, TypeError, ValueError, KeyError) as exc:
        raise InvalidSchema(f"Invalid schema {text}, details: {exc}") from exc
    return Parsed(AVRO, _compact(doc), model, text)


def _parse_json(text: str) -> Parsed:
    doc = _json(text)
    if not isinstance(doc, dict | bool):
        raise InvalidSchema(f"Invalid schema {text}, details: a JSON Schema is an object")
    try:
        jsonschema.validators.validator_for(doc).check_schema(doc)
    except jsonschema.exceptions.SchemaError as exc:
        raise InvalidSchema(f"Invalid schema {text}, details: {exc.message}") from exc
    return Parsed(JSON, _compact(doc), doc, text)


def _parse_protobuf(text: str) -> Parsed:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        proto = descriptor_pb2.FileDescriptorProto.FromString(raw)
    except (binascii.Error, ValueError, DecodeError):
        try:
            proto = proto_text.parse(text)
        except ValueError as exc:
            raise InvalidSchema(
                f"Invalid schema: neither a base64 FileDescriptorProto nor .proto text ({exc})"
            ) from exc
    if not proto.name:
        raise InvalidSchema("Invalid schema: the FileDescriptorProto has no file name")
    # Deterministic serialization is the canonical form: equal descriptors, equal bytes.
    canonical = base64.b64encode(proto.SerializeToString(deterministic=True)).decode()
    return Parsed(PROTOBUF, canonical, proto, text)


def validate_document(parsed: Parsed, document: Any) -> list[str]:
    """Why `document` does not fit `parsed` (Avro and JSON Schema); empty when it fits."""
    if parsed.schema_type == JSON:
        validator = jsonschema.validators.validator_for(parsed.model)(parsed.model)
        return [e.message for e in validator.iter_errors(document)]
    if parsed.schema_type == AVRO:
        import fastavro.validation

        schema = fastavro.parse_schema(json.loads(parsed.canonical))
        try:
            fastavro.validation.validate(document, schema, raise_errors=True)
        except fastavro.validation.ValidationError as exc:
            return [str(e) for e in exc.errors] or [str(exc)]
        return []
    return ["producing Protobuf from the console is not supported"]
