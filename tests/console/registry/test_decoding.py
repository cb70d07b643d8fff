"""The browser's schema-registry decoder reads what Confluent's serializers wrote, names the
schema id, subject and version, and leaves other bytes to the other decoders."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.type import date_pb2

from console import decoders
from console.kafka.model import Record
from console.message_rows import export_row, tail_row_html
from console.registry import decoding, wire
from tests.console.registry.test_serializers import ORDER, USER, registry

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    # Each test's database starts empty, so ids repeat between tests.
    decoding.forget()
    yield
    decoding.forget()


def context(subject_topic: str) -> SerializationContext:
    return SerializationContext(subject_topic, MessageField.VALUE)


def test_avro_records_decode_with_their_schema(live_server: Any, admin_user: Any) -> None:
    raw = AvroSerializer(registry(live_server), json.dumps(USER))(
        {"name": "ada", "age": 36}, context("users")
    )
    shown = decoders.decode(raw)
    assert (shown.kind, shown.data) == ("avro", {"name": "ada", "age": 36})
    schema_id = wire.unframe(raw).schema_id  # type: ignore[union-attr]
    assert shown.schema == f"schema {schema_id} · users-value v1"
    assert decoders.decode(raw, "schema-registry").data == {"name": "ada", "age": 36}


def test_protobuf_and_json_schema_records_decode(live_server: Any, admin_user: Any) -> None:
    client = registry(live_server)
    proto = ProtobufSerializer(date_pb2.Date, client, {"use.deprecated.format": False})
    shown = decoders.decode(proto(date_pb2.Date(year=2026, month=12, day=4), context("days")))
    assert (shown.kind, shown.data) == ("protobuf", {"year": 2026, "month": 12, "day": 4})
    assert shown.schema.endswith("days-value v1")
    raw = JSONSerializer(json.dumps(ORDER), client)({"id": 7, "item": "tea"}, context("orders"))
    shown = decoders.decode(raw)
    assert (shown.kind, shown.data) == ("json-schema", {"id": 7, "item": "tea"})


def test_unknown_ids_and_other_bytes_fall_through(db: Any) -> None:
    assert decoders.decode(wire.frame(4242, b"\x02")).kind == "hex"
    assert decoders.decode(b'{"a": 1}').kind == "json"
    forced = decoders.decode(wire.frame(4242, b"\x02"), "schema-registry")
    assert forced.kind == "hex"
    assert "schema 4242 is not in the registry" in forced.error


def test_message_index_paths() -> None:
    assert wire.message_indexes(b"\x00rest") == ([0], b"rest")
    # Count 2 (zig-zag 4), then indexes 1 and 0 (zig-zag 2 and 0).
    assert wire.message_indexes(b"\x04\x02\x00rest") == ([1, 0], b"rest")
    with pytest.raises(ValueError, match="truncated"):
        wire.message_indexes(b"\x04\x82")


def test_export_and_live_tail_rows_use_the_schema(live_server: Any, admin_user: Any) -> None:
    raw = AvroSerializer(registry(live_server), json.dumps(USER))(
        {"name": "ada", "age": 36}, context("people")
    )
    record = Record(0, 3, 1_700_000_000_000, "CreateTime", None, raw)
    row = export_row(record, decoders.AUTO, decoders.AUTO)
    assert (row["value"], row["value_format"]) == ({"name": "ada", "age": 36}, "avro")
    tail = tail_row_html(record)
    assert "fmt-avro" in tail
    assert "&quot;ada&quot;" in tail
    assert "people-value v1" in tail
