"""Confluent's own serializers (Avro, Protobuf, JSON Schema) register through our registry,
write through the bundled broker, and read back through the registry by schema id."""

from __future__ import annotations

import json
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.type import date_pb2

from tests.console.groups_helpers import unique

pytestmark = pytest.mark.django_db(transaction=True)

USER = {
    "type": "record",
    "name": "User",
    "namespace": "odradek.test",
    "fields": [{"name": "name", "type": "string"}, {"name": "age", "type": "int"}],
}
ORDER = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {"id": {"type": "integer"}, "item": {"type": "string"}},
    "required": ["id"],
}


def registry(live_server: Any) -> SchemaRegistryClient:
    return SchemaRegistryClient(
        {
            "url": f"{live_server.url}/schema-registry",
            "basic.auth.user.info": "admin:admin-pass-123",
        }
    )


def round_trip(bootstrap: str, topic: str, values: list[bytes]) -> list[bytes]:
    """Write `values` to a fresh one-partition `topic` and read them back."""
    conf = {"bootstrap.servers": bootstrap}
    admin = AdminClient(conf)
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=15)
    producer = Producer(conf)
    for value in values:
        producer.produce(topic, value)
    assert producer.flush(15) == 0
    consumer = Consumer(conf | {"group.id": unique("sr"), "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    read: list[bytes] = []
    try:
        while len(read) < len(values):
            message = consumer.poll(15)
            assert message is not None, f"only {len(read)} of {len(values)} records came back"
            assert message.error() is None, message.error()
            read.append(message.value())
    finally:
        consumer.close()
    return read


def test_avro_serializer_round_trip(live_server: Any, admin_user: Any, shared_broker: Any) -> None:
    client = registry(live_server)
    topic = unique("sr-avro")
    context = SerializationContext(topic, MessageField.VALUE)
    serialize = AvroSerializer(client, json.dumps(USER))
    records = [{"name": "ada", "age": 36}, {"name": "alan", "age": 41}]
    raw = round_trip(shared_broker.bootstrap, topic, [serialize(r, context) for r in records])
    schema_id = int.from_bytes(raw[0][1:5], "big")
    assert raw[0][0] == 0
    assert client.get_latest_version(f"{topic}-value").schema_id == schema_id
    # A fresh client (no cache) must fetch the schema by id from the registry.
    deserialize = AvroDeserializer(registry(live_server))
    assert [deserialize(r, context) for r in raw] == records

    # An incompatible change is refused with Confluent's 409.
    breaking = dict(USER, fields=[{"name": "name", "type": "int"}])
    with pytest.raises(SchemaRegistryError) as refused:
        AvroSerializer(client, json.dumps(breaking))({"name": 1}, context)
    assert refused.value.http_status_code == 409
    assert refused.value.error_code == 409


def test_json_schema_serializer_round_trip(
    live_server: Any, admin_user: Any, shared_broker: Any
) -> None:
    topic = unique("sr-json")
    context = SerializationContext(topic, MessageField.VALUE)
    serialize = JSONSerializer(json.dumps(ORDER), registry(live_server))
    records = [{"id": 1, "item": "tea"}, {"id": 2}]
    raw = round_trip(shared_broker.bootstrap, topic, [serialize(r, context) for r in records])
    deserialize = JSONDeserializer(None, schema_registry_client=registry(live_server))
    assert [deserialize(r, context) for r in raw] == records


def test_protobuf_serializer_round_trip(
    live_server: Any, admin_user: Any, shared_broker: Any
) -> None:
    topic = unique("sr-proto")
    context = SerializationContext(topic, MessageField.VALUE)
    client = registry(live_server)
    serialize = ProtobufSerializer(date_pb2.Date, client, {"use.deprecated.format": False})
    records = [date_pb2.Date(year=2026, month=12, day=4), date_pb2.Date(year=1970, month=1, day=1)]
    raw = round_trip(shared_broker.bootstrap, topic, [serialize(r, context) for r in records])
    latest = client.get_latest_version(f"{topic}-value")
    assert latest.schema.schema_type == "PROTOBUF"
    assert int.from_bytes(raw[0][1:5], "big") == latest.schema_id
    deserialize = ProtobufDeserializer(date_pb2.Date, {"use.deprecated.format": False})
    assert [deserialize(r, context) for r in raw] == records
