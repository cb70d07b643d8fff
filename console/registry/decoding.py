"""The message browser's "schema registry" decoder for records in Confluent's wire format.

Owns turning a framed record into readable JSON with the schemas of the cluster's registry
(the built-in one, or the external one an admin chose for the cluster): Avro by fastavro, Protobuf by protobuf's descriptor pool, JSON Schema as JSON; and the
"schema <id> · <subject> v<version>" note shown beside it. It must never reach a cluster;
schemas come from the console's database or `console.registry.client`, looked up once per
id (ids never change meaning).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import fastavro
from django.core.exceptions import SynchronousOnlyOperation
from google.protobuf import descriptor_pool, json_format, message_factory

from console import decoders
from console.registry import formats, wire
from console.registry.client import RegistryClient, RegistryUnavailable
from console.registry.models import RegistrySource, Schema


@dataclass(frozen=True)
class Known:
    """A stored schema with what decoding needs: its type, its text and its references'."""

    schema_id: int
    schema_type: str
    text: str
    references: tuple[Known, ...]
    note: str


def _known(row: Schema) -> Known:
    refs = []
    for ref in row.references:
        version = row.versions.model.objects.filter(
            subject=ref["subject"], version=ref["version"]
        ).first()
        if version is not None:
            refs.append(_known(version.schema))
    first = row.versions.order_by("subject", "version").first()
    where = f" · {first.subject} v{first.version}" if first is not None else ""
    return Known(row.pk, row.schema_type, row.text, tuple(refs), f"schema {row.pk}{where}")


_CACHE: dict[tuple[str, int], Known] = {}
_CACHE_LIMIT = 1024
_SOURCES: dict[str, RegistryClient | None] = {}
# The cluster whose records are being decoded: its registry may be an external one.
_CLUSTER: ContextVar[str] = ContextVar("registry_cluster", default="")


@contextmanager
def for_cluster(slug: str) -> Iterator[None]:
    token = _CLUSTER.set(slug)
    try:
        yield
    finally:
        _CLUSTER.reset(token)


def use_cluster(slug: str) -> None:
    """Decode with `slug`'s registry from here on in this context (one request)."""
    _CLUSTER.set(slug)


def bound(slug: str, render: Callable[[Any], str]) -> Callable[[Any], str]:
    """`render` decoding with `slug`'s registry, for threads that do not carry the context."""

    def rendered(record: Any) -> str:
        with for_cluster(slug):
            return render(record)

    return rendered


def _client() -> RegistryClient | None:
    """The external registry of the current cluster, or None for the built-in one."""
    slug = _CLUSTER.get()
    if not slug:
        return None
    if slug not in _SOURCES:
        row = RegistrySource.objects.filter(cluster=slug).first()
        _SOURCES[slug] = (
            RegistryClient(row.url, row.username, row.password) if row is not None else None
        )
    return _SOURCES[slug]


def _remote(client: RegistryClient, schema_id: int, answer: dict[str, Any]) -> Known:
    refs = tuple(
        _remote(client, int(found["id"]), found)
        for found in (
            client.version(r["subject"], int(r["version"])) for r in answer.get("references") or []
        )
    )
    note = f"schema {schema_id}"
    try:
        uses = client.versions_of(schema_id)
    except RegistryUnavailable:
        uses = []
    if uses:
        note += f" · {uses[0]['subject']} v{uses[0]['version']}"
    kind = answer.get("schemaType") or formats.AVRO
    return Known(schema_id, kind, answer["schema"], refs, f"{note} ({client.url})")


def known(schema_id: int) -> Known | None:
    """The schema with this id in the current cluster's registry, or None when it has none
    (or cannot be asked from here).

    Only hits are kept: a record may arrive before its schema is looked at again.
    """
    try:
        client = _client()
        key = (client.url if client is not None else "", schema_id)
        found = _CACHE.get(key)
        if found is not None:
            return found
        if client is not None:
            found = _remote(client, schema_id, client.schema(schema_id))
        else:
            row = Schema.objects.filter(pk=schema_id).first()
            found = _known(row) if row is not None else None
    except SynchronousOnlyOperation:
        # An event loop thread may not query; the record then reads as other bytes.
        return None
    except RegistryUnavailable:
        return None
    if found is not None:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[key] = found
    return found


def _avro(schema: Known, payload: bytes) -> Any:
    named: dict[str, Any] = {}
    for ref in _flatten(schema.references):
        fastavro.parse_schema(json.loads(ref.text), named_schemas=named)
    parsed = fastavro.parse_schema(json.loads(schema.text), named_schemas=named)
    return fastavro.schemaless_reader(io.BytesIO(payload), parsed)


def _flatten(refs: tuple[Known, ...]) -> list[Known]:
    out: list[Known] = []
    for ref in refs:
        out += [*_flatten(ref.references), ref]
    return out


def _protobuf(schema: Known, payload: bytes) -> Any:
    pool = descriptor_pool.DescriptorPool()
    for known_file in [*_flatten(schema.references), schema]:
        proto = formats.parse(formats.PROTOBUF, known_file.text).model
        try:
            pool.Add(proto)
        except TypeError:
            pass  # the same file reached twice through two references
    proto = formats.parse(formats.PROTOBUF, schema.text).model
    path, body = wire.message_indexes(payload)
    message: Any = proto.message_type[path[0]]
    name = f"{proto.package}.{message.name}" if proto.package else message.name
    for index in path[1:]:
        message = message.nested_type[index]
        name = f"{name}.{message.name}"
    cls = message_factory.GetMessageClass(pool.FindMessageTypeByName(name))
    return json_format.MessageToDict(cls.FromString(body), preserving_proto_field_name=True)


_READERS = {
    formats.AVRO: ("avro", _avro),
    formats.PROTOBUF: ("protobuf", _protobuf),
    formats.JSON: ("json-schema", lambda schema, payload: json.loads(payload)),
}


class SchemaRegistryDecoder:
    name = "schema-registry"
    label = "Schema registry (Avro, Protobuf, JSON Schema)"

    def accepts(self, raw: bytes) -> bool:
        framed = wire.unframe(raw)
        return framed is not None and known(framed.schema_id) is not None

    def decode(self, raw: bytes) -> decoders.Decoded:
        framed = wire.unframe(raw)
        if framed is None:
            raise ValueError("no magic byte 0 and schema id")
        schema = known(framed.schema_id)
        if schema is None:
            raise ValueError(f"schema {framed.schema_id} is not in the registry")
        kind, read = _READERS[schema.schema_type]
        try:
            data = read(schema, framed.payload)
        except (EOFError, IndexError, KeyError, TypeError, json_format.Error) as exc:
            raise ValueError(f"does not match {schema.note}: {exc}") from exc
        text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
        return decoders.Decoded(kind=kind, text=text, size=len(raw), data=data, schema=schema.note)


def install() -> None:
    """Make the decoder pickable and try it first in auto-detection."""
    decoder = SchemaRegistryDecoder()
    decoders.DECODERS[decoder.name] = decoder
    if decoder.name not in decoders.DETECTION_ORDER:
        decoders.DETECTION_ORDER = (decoder.name, *decoders.DETECTION_ORDER)


def forget() -> None:
    """Drop cached schemas and sources (a test database, or a hard delete, may reuse an id;
    an admin may point a cluster at another registry)."""
    _CACHE.clear()
    _SOURCES.clear()
